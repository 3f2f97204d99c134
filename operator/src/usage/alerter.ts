import { API_VERSION, type BudgetEvent, nanoToUsd, parseDuration, type Tenant } from '@tollgate/api'
import type { Logger } from 'pino'
import { ERROR_CODES, hasCode, TollgateError } from '../errors.ts'
import type { EventRecorder } from '../reconcile/events.ts'
import { backoffDelay, sleep } from '../runtime/backoff.ts'
import type { OperatorMetrics } from '../runtime/metrics.ts'
import type { AlertsStore, PendingAlert } from '../store/alerts-store.ts'
import type { AlertTarget } from './alert-target.ts'
import { type BudgetUsage, crossedThresholds } from './budget-state.ts'

/** WebhookURL is a tenant's alert URL, or why it has none it may use. */
export type WebhookURL = { url: string } | { problem: string }

export interface AlerterDeps {
  alerts: AlertsStore
  events: EventRecorder
  /** Reads the URL from the Secret `alerts.webhookSecretRef` names, if the tenant may reference it. */
  webhookURL: (tenant: Tenant) => Promise<WebhookURL>
  target: AlertTarget
  logger: Logger
  metrics?: OperatorMetrics
  /** The tenant of an outbox entry as the operator knows it now; undefined once it is gone. */
  tenant: (name: string) => Tenant | undefined
  /** Hears of each crossing acted on (the console's live feed). */
  onCrossed?: (tenant: string, event: BudgetEvent) => void
  /** Tries of an Event. */
  attempts?: number
  retryBaseMs?: number
  /** Longest wait between two tries of a webhook; default 10 minutes. */
  retryMaxMs?: number
  /** How long a webhook alert is tried before the operator gives up; default 24 hours. */
  giveUpAfterMs?: number
}

/** IDEMPOTENCY_HEADER carries `tollgate-alert-<id>`: the same on every try of one alert. */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key'

const DEFAULT_COOLDOWN = '30m'

/** alertText is the Slack-compatible message of a threshold crossing. */
export function alertText(tenant: string, period: BudgetUsage, threshold: number): string {
  const spent = nanoToUsd(period.totals.costNano)
  const limit = nanoToUsd(period.limitNano ?? 0)
  const percent = Math.floor((period.totals.costNano / (period.limitNano || 1)) * 100)
  const resets = period.bounds.end.toISOString()
  return threshold >= 1
    ? `Tollgate: tenant ${tenant} has used up its $${limit} ${period.bounds.period} budget ($${spent} spent); calls are refused until ${resets}.`
    : `Tollgate: tenant ${tenant} has spent $${spent} of its $${limit} ${period.bounds.period} budget (${percent}%, alert at ${Math.round(threshold * 100)}%); it resets at ${resets}.`
}

/**
 * Alerter turns threshold crossings into one webhook alert and one Event per tenant, budget period
 * and threshold. The alerts_sent row is claimed first (unique key), so a crossing is acted on once
 * even across restarts and replicas. The webhook alert is then an outbox entry in Postgres, tried
 * by `deliver` (each usage flush, on the leader) with backoff until the receiver accepts it, for up
 * to `giveUpAfterMs`: a receiver down for an hour still hears of it. Every try of one alert carries
 * the same `Idempotency-Key`; a crash between a POST and its record may send it twice, never not
 * at all. Nothing here holds up the usage loop: `check` returns once the claim is made, `deliver`
 * starts a round in the background (`close` waits for it).
 * When several thresholds are crossed in one step, one alert names the highest and the lower
 * ones are recorded as covered. The tenant's `alerts.cooldown` delays a further alert below 100%
 * that follows another within the cooldown; the 100% alert is never delayed.
 */
export class Alerter {
  readonly #d: AlerterDeps
  /** Claimed keys, so a steady state costs no query per flush. */
  readonly #known = new Set<string>()
  readonly #deliveries = new Set<Promise<void>>()
  #round: Promise<void> | undefined

  constructor(deps: AlerterDeps) {
    this.#d = deps
  }

  async check(tenant: Tenant, period: BudgetUsage): Promise<void> {
    const name = tenant.metadata.name
    const start = period.bounds.start
    const key = (t: number) => `${name}|${period.bounds.period}|${start.toISOString()}|${t}`
    const crossed = crossedThresholds(period).filter((t) => !this.#known.has(key(t)))
    if (crossed.length === 0) return
    const recorded = await this.#d.alerts.recorded(name, period.bounds.period, start)
    for (const t of recorded) this.#known.add(key(t))
    const fresh = crossed.filter((t) => !recorded.includes(t))
    if (fresh.length === 0) return
    const highest = Math.max(...fresh)
    if (highest < 1) {
      const last = await this.#d.alerts.lastNotified(name, period.bounds.period, start)
      const cooldown = parseDuration(tenant.spec.alerts?.cooldown ?? DEFAULT_COOLDOWN)
      if (last && Date.now() - last.getTime() < cooldown) return
    }
    const won = await this.#d.alerts.claim(
      fresh.map((threshold) => ({
        tenant: name,
        period: period.bounds.period,
        periodStart: start,
        threshold,
        spendNano: period.totals.costNano,
        limitNano: period.limitNano ?? 0,
        notified: threshold === highest,
        message: alertText(name, period, highest),
        webhook: tenant.spec.alerts?.webhookSecretRef !== undefined,
      })),
    )
    for (const t of fresh) this.#known.add(key(t))
    const claim = won.find((c) => c.notified)
    if (!claim) return
    this.#d.onCrossed?.(name, {
      type: 'budget',
      at: Date.now(),
      period: period.bounds.period,
      threshold: highest,
      spendNano: period.totals.costNano,
      limitNano: period.limitNano ?? 0,
    })
    this.#background(
      this.#sendEvent(tenant, claim.id, highest, alertText(name, period, highest)).catch((error) =>
        this.#d.logger.warn({ tenant: name, err: error }, 'budget event failed'),
      ),
    )
    this.deliver()
  }

  /** deliver starts a round over the outbox's due webhook alerts, unless one is under way. */
  deliver(): void {
    if (this.#round) return
    this.#round = this.#deliverDue()
      .catch((error) => this.#d.logger.warn({ err: error }, 'alert outbox round failed'))
      .finally(() => {
        this.#round = undefined
      })
    this.#background(this.#round)
  }

  async #deliverDue(): Promise<void> {
    for (const alert of await this.#d.alerts.due()) await this.#deliverOne(alert)
  }

  async #deliverOne(alert: PendingAlert): Promise<void> {
    const { logger, metrics, alerts } = this.#d
    const attempts = alert.attempts + 1
    const tenant = this.#d.tenant(alert.tenant)
    const found: WebhookURL = !tenant?.spec.alerts?.webhookSecretRef
      ? { problem: 'the tenant is gone or has no spec.alerts.webhookSecretRef any more' }
      : await this.#d.webhookURL(tenant).catch((error: Error) => ({ problem: error.message }))
    if ('problem' in found) {
      logger.warn({ tenant: alert.tenant, problem: found.problem }, 'alert not sent')
      await alerts.giveUp(alert.id, attempts, found.problem)
      metrics?.alertsSent.inc({ result: 'failed' })
      return
    }
    try {
      const status = await this.#d.target.post(
        found.url,
        { text: alert.message },
        { [IDEMPOTENCY_HEADER]: `tollgate-alert-${alert.id}` },
      )
      if (status >= 300)
        throw new TollgateError(ERROR_CODES.ALERT_DELIVERY, `alert webhook answered ${status}`)
    } catch (error) {
      // The URL is a secret: the log names the tenant, never the address.
      const message = (error as Error).message
      logger.warn({ tenant: alert.tenant, err: { message } }, 'alert webhook failed')
      const old = Date.now() - alert.createdAt.getTime() > (this.#d.giveUpAfterMs ?? 24 * 3_600_000)
      // A refused destination stays refused: trying again would only knock on it again.
      if (old || hasCode(error, ERROR_CODES.ALERT_TARGET_REFUSED)) {
        await alerts.giveUp(alert.id, attempts, message)
        metrics?.alertsSent.inc({ result: 'failed' })
      } else {
        const wait = backoffDelay(attempts - 1, {
          baseMs: this.#d.retryBaseMs ?? 5_000,
          maxMs: this.#d.retryMaxMs ?? 600_000,
          jitter: 0.2,
        })
        await alerts.retryAt(alert.id, attempts, message, new Date(Date.now() + wait))
        metrics?.alertsSent.inc({ result: 'retried' })
      }
      return
    }
    await alerts.markDelivered(alert.id, 'webhook', attempts)
    metrics?.alertsSent.inc({ result: 'delivered' })
  }

  #background(work: Promise<void>): void {
    this.#deliveries.add(work)
    void work.finally(() => this.#deliveries.delete(work))
  }

  /** close waits for the deliveries under way. */
  async close(): Promise<void> {
    await Promise.all([...this.#deliveries])
  }

  /** forget drops claim memory of periods that ended (keeps the set small). */
  forgetBefore(at: Date): void {
    for (const k of this.#known) {
      const start = k.split('|')[2] ?? ''
      if (Date.parse(start) < at.getTime() - 40 * 24 * 3600_000) this.#known.delete(k)
    }
  }

  async #sendEvent(tenant: Tenant, id: number, threshold: number, text: string): Promise<void> {
    const target = {
      apiVersion: API_VERSION,
      kind: 'Tenant',
      name: tenant.metadata.name,
      uid: tenant.metadata.uid,
    }
    const reason = threshold >= 1 ? 'BudgetExceeded' : 'BudgetThresholdReached'
    const { attempts, error } = await this.#retry(() =>
      this.#d.events.create(target, 'Warning', reason, text),
    )
    if (error) throw error
    await this.#d.alerts.markDelivered(id, 'event', attempts).catch(() => {})
  }

  async #retry(fn: () => Promise<void>): Promise<{ attempts: number; error?: unknown }> {
    const tries = this.#d.attempts ?? 4
    let error: unknown
    for (let attempt = 1; attempt <= tries; attempt++) {
      try {
        await fn()
        return { attempts: attempt }
      } catch (e) {
        error = e
        if (attempt < tries)
          await sleep(
            backoffDelay(attempt - 1, { baseMs: this.#d.retryBaseMs ?? 500, maxMs: 10_000, jitter: 0.2 }),
          )
      }
    }
    return { attempts: tries, error }
  }
}
