import { API_VERSION, nanoToUsd, parseDuration, type Tenant } from '@tollgate/api'
import type { Logger } from 'pino'
import { ERROR_CODES, hasCode, TollgateError } from '../errors.ts'
import type { EventRecorder } from '../reconcile/events.ts'
import { backoffDelay, sleep } from '../runtime/backoff.ts'
import type { OperatorMetrics } from '../runtime/metrics.ts'
import type { AlertsStore } from '../store/alerts-store.ts'
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
  /** Tries per delivery (webhook POST, Event). */
  attempts?: number
  retryBaseMs?: number
}

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
 * Alerter turns threshold crossings into one webhook POST and one Event per tenant, budget
 * period and threshold. The alerts_sent row is claimed first (unique key), so a crossing is
 * acted on at most once even across restarts and replicas; delivery then retries with backoff,
 * in the background: `check` returns once the claim is made, so a slow or silent receiver never
 * holds up the usage loop (`close` waits for deliveries still under way).
 * When several thresholds are crossed in one step, one alert names the highest and the lower
 * ones are recorded as covered. The tenant's `alerts.cooldown` delays a further alert below 100%
 * that follows another within the cooldown; the 100% alert is never delayed.
 */
export class Alerter {
  readonly #d: AlerterDeps
  /** Claimed keys, so a steady state costs no query per flush. */
  readonly #known = new Set<string>()
  readonly #deliveries = new Set<Promise<void>>()

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
      })),
    )
    for (const t of fresh) this.#known.add(key(t))
    const claim = won.find((c) => c.notified)
    if (!claim) return
    const text = alertText(name, period, highest)
    const delivery = Promise.all([
      this.#sendWebhook(tenant, claim.id, text),
      this.#sendEvent(tenant, claim.id, highest, text),
    ]).then(
      () => {},
      (error) => this.#d.logger.warn({ tenant: name, err: error }, 'alert delivery failed'),
    )
    this.#deliveries.add(delivery)
    void delivery.finally(() => this.#deliveries.delete(delivery))
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

  async #sendWebhook(tenant: Tenant, id: number, text: string): Promise<void> {
    const ref = tenant.spec.alerts?.webhookSecretRef
    if (!ref) return
    const { logger, metrics } = this.#d
    const found = await this.#d.webhookURL(tenant).catch((error: Error) => ({ problem: error.message }))
    if ('problem' in found) {
      logger.warn({ tenant: tenant.metadata.name, problem: found.problem }, 'alert not sent')
      await this.#d.alerts.markFailed(id, 0, found.problem)
      metrics?.alertsSent.inc({ result: 'failed' })
      return
    }
    const { attempts, error } = await this.#retry(async () => {
      const status = await this.#d.target.post(found.url, { text })
      if (status >= 300)
        throw new TollgateError(ERROR_CODES.ALERT_DELIVERY, `alert webhook answered ${status}`)
    })
    if (error) {
      // The URL is a secret: the log names the tenant, never the address.
      logger.warn(
        { tenant: tenant.metadata.name, err: { message: (error as Error).message } },
        'alert webhook failed',
      )
      await this.#d.alerts.markFailed(id, attempts, (error as Error).message).catch(() => {})
      metrics?.alertsSent.inc({ result: 'failed' })
      return
    }
    await this.#d.alerts.markDelivered(id, 'webhook', attempts).catch(() => {})
    metrics?.alertsSent.inc({ result: 'delivered' })
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
    if (error) this.#d.logger.warn({ tenant: tenant.metadata.name, err: error }, 'budget event failed')
    else await this.#d.alerts.markDelivered(id, 'event', attempts).catch(() => {})
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
        // A refused destination stays refused: trying again would only knock on it again.
        if (hasCode(e, ERROR_CODES.ALERT_TARGET_REFUSED)) return { attempts: attempt, error }
        if (attempt < tries)
          await sleep(
            backoffDelay(attempt - 1, { baseMs: this.#d.retryBaseMs ?? 500, maxMs: 10_000, jitter: 0.2 }),
          )
      }
    }
    return { attempts: tries, error }
  }
}
