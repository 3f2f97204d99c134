import type { BudgetPeriod } from '@tollgate/api'
import type { Db } from './db.ts'

/** AlertClaim is one threshold crossing to record. */
export interface AlertClaim {
  tenant: string
  period: BudgetPeriod
  periodStart: Date
  threshold: number
  spendNano: number
  limitNano: number
  /** False for a lower threshold crossed together with a higher one: recorded, not sent. */
  notified: boolean
  /** The alert's text; with `webhook`, the row goes into the outbox for the webhook. */
  message?: string
  webhook?: boolean
}

/** PendingAlert is a webhook alert of the outbox, due now. */
export interface PendingAlert {
  id: number
  tenant: string
  message: string
  attempts: number
  createdAt: Date
}

/**
 * AlertsStore: the alerts_sent table. A row is inserted before anything is sent, and the unique key
 * (tenant, period, period start, threshold) lets exactly one insert win, whichever replica or retry
 * tries: a crossing is acted on once. Its webhook is then an outbox entry, tried until delivered:
 * a crash between a POST and its record sends it again (at least once, with the same idempotency
 * key), never not at all.
 */
export class AlertsStore {
  readonly #db: Db
  constructor(db: Db) {
    this.#db = db
  }

  /** claim inserts the rows and returns those that were new (the ones this caller must act on). */
  async claim(claims: AlertClaim[]): Promise<(AlertClaim & { id: number })[]> {
    if (claims.length === 0) return []
    return this.#db.transaction(async (client) => {
      const won: (AlertClaim & { id: number })[] = []
      for (const c of claims) {
        const { rows } = await client.query<{ id: string }>(
          `INSERT INTO alerts_sent (tenant, budget_period, period_start, threshold, spend_nano, limit_nano, notified, message, next_attempt_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $9 THEN now() END)
           ON CONFLICT (tenant, budget_period, period_start, threshold) DO NOTHING
           RETURNING id`,
          [
            c.tenant,
            c.period,
            c.periodStart,
            c.threshold,
            c.spendNano,
            c.limitNano,
            c.notified,
            c.message ?? null,
            c.notified && c.webhook === true,
          ],
        )
        if (rows[0]) won.push({ ...c, id: Number(rows[0].id) })
      }
      return won
    })
  }

  /** lastNotified is when the latest alert of a budget period went out, for the cooldown. */
  async lastNotified(tenant: string, period: BudgetPeriod, periodStart: Date): Promise<Date | undefined> {
    const { rows } = await this.#db.query<{ at: Date | null }>(
      `SELECT max(created_at) AS at FROM alerts_sent
       WHERE tenant = $1 AND budget_period = $2 AND period_start = $3 AND notified`,
      [tenant, period, periodStart],
    )
    return rows[0]?.at ?? undefined
  }

  async recorded(tenant: string, period: BudgetPeriod, periodStart: Date): Promise<number[]> {
    const { rows } = await this.#db.query<{ threshold: string }>(
      `SELECT threshold FROM alerts_sent WHERE tenant = $1 AND budget_period = $2 AND period_start = $3`,
      [tenant, period, periodStart],
    )
    return rows.map((r) => Number(r.threshold))
  }

  async markDelivered(id: number, what: 'webhook' | 'event', attempts: number): Promise<void> {
    const column = what === 'webhook' ? 'delivered_at' : 'event_at'
    await this.#db.query(
      `UPDATE alerts_sent SET ${column} = now(), attempts = greatest(attempts, $2) WHERE id = $1`,
      [id, attempts],
    )
  }

  /** due lists the outbox's webhook alerts whose next try is due, oldest first. */
  async due(limit = 50): Promise<PendingAlert[]> {
    const { rows } = await this.#db.query<{
      id: string
      tenant: string
      message: string | null
      attempts: number
      created_at: Date
    }>(
      `SELECT id, tenant, message, attempts, created_at FROM alerts_sent
       WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= now()
       ORDER BY next_attempt_at LIMIT $1`,
      [limit],
    )
    return rows.map((r) => ({
      id: Number(r.id),
      tenant: r.tenant,
      message: r.message ?? '',
      attempts: r.attempts,
      createdAt: r.created_at,
    }))
  }

  /** retryAt records a failed try and when to try again. */
  async retryAt(id: number, attempts: number, error: string, next: Date): Promise<void> {
    await this.#db.query(
      `UPDATE alerts_sent SET attempts = $2, last_error = $3, next_attempt_at = $4 WHERE id = $1`,
      [id, attempts, error.slice(0, 2000), next],
    )
  }

  /** giveUp takes an alert out of the outbox for good, saying why. */
  async giveUp(id: number, attempts: number, error: string): Promise<void> {
    await this.#db.query(
      `UPDATE alerts_sent SET attempts = $2, last_error = $3, gave_up_at = now() WHERE id = $1`,
      [id, attempts, error.slice(0, 2000)],
    )
  }
}
