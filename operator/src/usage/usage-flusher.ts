import { type Tenant, usageHour, usdToNano } from '@tollgate/api'
import type { Logger } from 'pino'
import type { HourUsage, UsageCounters } from '../redis/usage-counters.ts'
import { sleep } from '../runtime/backoff.ts'
import type { Informer } from '../runtime/informer.ts'
import type { OperatorMetrics } from '../runtime/metrics.ts'
import type { Ledger } from '../store/ledger.ts'
import type { Alerter } from './alerter.ts'
import {
  alertThresholds,
  type BudgetUsage,
  type TenantUsage,
  trackedPeriods,
  usageFromStatus,
} from './budget-state.ts'
import { hourStart } from './periods.ts'
import type { UsageState } from './usage-state.ts'

const HOUR_MS = 3_600_000

export interface UsageFlusherDeps {
  tenants: Informer<Tenant>
  counters: UsageCounters
  ledger: Ledger
  usage: UsageState
  alerter: Alerter
  /** Called when a tenant's usage changed, so its status and config follow. */
  onChange: (tenant: string) => void
  intervalMs: number
  /** A closed hour stays in the unflushed set this long after it ends, for late sidecar writes. */
  graceMs?: number
  concurrency?: number
  logger: Logger
  metrics?: OperatorMetrics
  /** Thresholds of a budget without alertAt; default DEFAULT_ALERT_AT. */
  defaultAlertAt?: readonly number[]
}

/**
 * UsageFlusher is the leader's usage loop: every interval it copies each tenant's hourly
 * counters from Redis into the ledger as absolute totals (one transaction per tenant), releases
 * closed hours that are fully flushed, recomputes the day and month spend of tenants whose usage
 * or period changed, and fires budget alerts. When Postgres is down nothing is released, so the
 * counters wait in Redis and the next successful flush writes exact totals.
 */
export class UsageFlusher {
  readonly #d: UsageFlusherDeps
  readonly #signatures = new Map<string, string>()
  #abort = new AbortController()
  #loop: Promise<void> | undefined

  constructor(deps: UsageFlusherDeps) {
    this.#d = deps
  }

  start(): void {
    this.#abort = new AbortController()
    this.#loop ??= this.#run(this.#abort.signal)
  }

  async stop(): Promise<void> {
    this.#abort.abort()
    await this.#loop
    this.#loop = undefined
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.flushAll()
      await sleep(this.#d.intervalMs, signal)
    }
  }

  /** flushAll runs one round over every tenant; failures of one tenant do not stop the others. */
  async flushAll(now = new Date()): Promise<void> {
    const end = this.#d.metrics?.usageFlushDuration.startTimer()
    const tenants = this.#d.tenants.list().filter((t) => !t.metadata.deletionTimestamp)
    const queue = [...tenants]
    const worker = async () => {
      for (let tenant = queue.shift(); tenant; tenant = queue.shift()) {
        try {
          await this.flushTenant(tenant, now)
          this.#d.metrics?.usageFlushes.inc({ result: 'ok' })
        } catch (error) {
          this.#d.metrics?.usageFlushes.inc({ result: 'error' })
          this.#d.logger.warn(
            { tenant: tenant.metadata.name, err: error },
            'usage flush failed; counters stay in Redis',
          )
        }
      }
    }
    await Promise.all(Array.from({ length: this.#d.concurrency ?? 8 }, worker))
    this.#d.alerter.forgetBefore(now)
    // Alerts whose receiver was away are tried again from the outbox, whatever the usage did.
    this.#d.alerter.deliver()
    end?.()
  }

  /**
   * flushCounters writes a tenant's unflushed hours to the ledger (no release); the tenant
   * clean-up calls it before deleting the Redis keys, so a deleted tenant's last usage is kept.
   */
  async flushCounters(name: string): Promise<HourUsage[]> {
    const d = this.#d
    const hours = await d.counters.hours(name)
    if (hours.length === 0) return []
    const read = await Promise.all(hours.map((hour) => d.counters.read(name, hour)))
    await d.ledger.write(
      name,
      read.map((u) => ({ hour: hourStart(u.hour), rows: u.rows })),
    )
    return read
  }

  async flushTenant(tenant: Tenant, now: Date): Promise<void> {
    const d = this.#d
    const name = tenant.metadata.name
    const read = await this.flushCounters(name)
    const flushed = read.length > 0
    if (flushed) {
      const current = usageHour(now)
      const grace = d.graceMs ?? 5 * 60_000
      for (const usage of read) {
        if (usage.hour >= current || hourStart(usage.hour).getTime() + HOUR_MS + grace > now.getTime())
          continue
        await d.counters.release(name, usage)
      }
    }
    const periods = trackedPeriods(tenant.spec.budgets, now)
    const signature = JSON.stringify([tenant.spec.budgets ?? [], periods.map((p) => p.bounds.label)])
    const previous = d.usage.get(name)
    if (!flushed && previous && this.#signatures.get(name) === signature) return

    const next = await this.#compute(tenant, now)
    // The first round after a restart compares with what the status already shows.
    const shown =
      previous ?? usageFromStatus(tenant.status?.usage, tenant.spec.budgets, now, { complete: true })
    d.usage.set(name, next)
    if (!shown || !sameUsage(shown, next)) d.onChange(name)
    const computed = next.periods
    for (const period of computed) {
      if (period.limitNano !== undefined) await d.alerter.check(tenant, period)
    }
  }

  /**
   * usageOf computes a tenant's usage from the ledger and records it, without flushing or
   * alerting: the tenant reconciler calls it the first time it sees a tenant, so the first status
   * it writes already carries the spend.
   */
  async usageOf(tenant: Tenant, now = new Date()): Promise<TenantUsage> {
    const usage = await this.#compute(tenant, now)
    this.#d.usage.set(tenant.metadata.name, usage)
    return usage
  }

  async #compute(tenant: Tenant, now: Date): Promise<TenantUsage> {
    const name = tenant.metadata.name
    const periods = trackedPeriods(tenant.spec.budgets, now)
    const computed: BudgetUsage[] = []
    for (const { budget, bounds, range } of periods) {
      computed.push({
        bounds,
        totals: await this.#d.ledger.totals(name, range.from, range.to),
        ...(budget && { limitNano: usdToNano(budget.limitUSD) }),
        alertAt: alertThresholds(budget, this.#d.defaultAlertAt),
      })
    }
    this.#signatures.set(
      name,
      JSON.stringify([tenant.spec.budgets ?? [], periods.map((p) => p.bounds.label)]),
    )
    return { at: now, periods: computed }
  }

  /** forget drops what is known about a deleted tenant. */
  forget(name: string): void {
    this.#signatures.delete(name)
  }
}

function sameUsage(a: TenantUsage, b: TenantUsage): boolean {
  const strip = (u: TenantUsage) => JSON.stringify(u.periods)
  return strip(a) === strip(b)
}
