import { type Budget, type BudgetPeriod, nanoToUsd, type UsageEntry, usdToNano } from '@tollgate/api'
import { ledgerRange, type PeriodBounds, periodBounds } from './periods.ts'

/** PeriodTotals are the ledger sums of one period. */
export interface PeriodTotals {
  requests: number
  inputTokens: number
  outputTokens: number
  costNano: number
}

/** BudgetUsage is the state of one period: what was spent, and against which budget (if any). */
export interface BudgetUsage {
  bounds: PeriodBounds
  totals: PeriodTotals
  /** The budget of this period, if the tenant has one. */
  limitNano?: number
  alertAt: number[]
}

/** TenantUsage is what the usage loop knows about one tenant; the reconciler puts it in status and config. */
export interface TenantUsage {
  /** When it was computed. */
  at: Date
  periods: BudgetUsage[]
}

/** PERIODS always shown in status: day and month, in the budget's zone or UTC. */
const PERIODS: BudgetPeriod[] = ['day', 'month']

/** trackedPeriods are the periods whose spend a tenant's status shows, with their budget if any. */
export function trackedPeriods(budgets: Budget[] | undefined, at: Date) {
  return PERIODS.map((period) => {
    const budget = budgets?.find((b) => b.period === period)
    const bounds = periodBounds(period, budget?.timezone ?? 'UTC', at)
    return { period, budget, bounds, range: ledgerRange(bounds) }
  })
}

/** usageEntries renders the status.usage list. */
export function usageEntries(usage: TenantUsage): UsageEntry[] {
  return usage.periods.map(({ bounds, totals, limitNano }) => ({
    period: bounds.period,
    start: bounds.start.toISOString(),
    resetsAt: bounds.end.toISOString(),
    requests: totals.requests,
    inputTokens: totals.inputTokens,
    outputTokens: totals.outputTokens,
    costUSD: nanoToUsd(totals.costNano),
    ...(limitNano !== undefined && {
      limitUSD: nanoToUsd(limitNano),
      remainingUSD: nanoToUsd(Math.max(0, limitNano - totals.costNano)),
    }),
  }))
}

/** exhaustedPeriods maps each used-up budget to when it resets (the compiled config's exhaustedUntil). */
export function exhaustedPeriods(usage: TenantUsage): Partial<Record<BudgetPeriod, string>> {
  const result: Partial<Record<BudgetPeriod, string>> = {}
  for (const { bounds, totals, limitNano } of usage.periods) {
    if (limitNano !== undefined && totals.costNano >= limitNano)
      result[bounds.period] = bounds.end.toISOString()
  }
  return result
}

/**
 * DEFAULT_ALERT_AT are the thresholds of a budget that names none: it alerts when used up. A budget
 * with `alertAt: []` alerts at nothing.
 */
export const DEFAULT_ALERT_AT: readonly number[] = [1]

/** alertThresholds are a budget's alertAt, ascending, or the defaults when it names none. */
export const alertThresholds = (
  budget: { alertAt?: number[] } | undefined,
  defaults: readonly number[] = DEFAULT_ALERT_AT,
): number[] => [...(budget?.alertAt ?? (budget ? defaults : []))].sort((a, b) => a - b)

/** crossedThresholds are the alertAt fractions the period's spend has reached, ascending. */
export function crossedThresholds(period: BudgetUsage): number[] {
  if (period.limitNano === undefined) return []
  const limit = period.limitNano
  return period.alertAt.filter((a) => period.totals.costNano >= Math.ceil(a * limit))
}

/**
 * usageFromStatus rebuilds what the last status said, for the time before the first ledger read
 * (after a restart, or while Postgres is down): exhausted budgets stay exhausted until reset.
 */
export function usageFromStatus(
  entries: UsageEntry[] | undefined,
  budgets: Budget[] | undefined,
  at: Date,
  options: { complete?: boolean } = {},
) {
  if (!entries?.length) return undefined
  const periods: BudgetUsage[] = []
  for (const { period, budget, bounds } of trackedPeriods(budgets, at)) {
    const entry = entries.find((e) => e.period === period && e.start === bounds.start.toISOString())
    // complete: only when the status covers every current period (no period rolled over since).
    if (!entry && options.complete) return undefined
    const totals = entry
      ? {
          requests: entry.requests,
          inputTokens: entry.inputTokens,
          outputTokens: entry.outputTokens,
          costNano: usdToNano(entry.costUSD),
        }
      : { requests: 0, inputTokens: 0, outputTokens: 0, costNano: 0 }
    periods.push({
      bounds,
      totals,
      ...(budget && { limitNano: usdToNano(budget.limitUSD) }),
      alertAt: alertThresholds(budget),
    })
  }
  return { at, periods } satisfies TenantUsage
}
