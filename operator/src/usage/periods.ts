import type { BudgetPeriod } from '@tollgate/api'
import { BudgetCalendar } from '@tollgate/api/budget-calendar.ts'

const HOUR_MS = 3_600_000

/** PeriodBounds is one calendar period in a time zone, as UTC instants. */
export interface PeriodBounds {
  period: BudgetPeriod
  timezone: string
  /** First instant of the period (local midnight, or the first instant of the day when DST skips midnight). */
  start: Date
  /** First instant of the next period: when the budget resets. */
  end: Date
  /** The period's local label: `2026-11-23` or `2026-11`. */
  label: string
}

const calendar = new BudgetCalendar()

/**
 * periodBounds is the period of the given kind that contains `at`, in the zone: the same
 * calendar the sidecar charges budgets by (api/src/budget-calendar.ts), so the operator's sums and
 * the sidecar's counters always cover the same instants.
 */
export function periodBounds(period: BudgetPeriod, timezone: string, at: Date): PeriodBounds {
  const p = calendar.periodAt(period, timezone, at.getTime())
  return { period, timezone, start: new Date(p.start), end: new Date(p.end), label: p.label }
}

/**
 * ledgerRange maps a period onto the hourly UTC ledger: [from, to) in whole hours. Where a zone's
 * offset is not a whole number of hours (Asia/Kolkata +05:30, Asia/Kathmandu +05:45) the period
 * boundary falls inside an hour bucket; the bucket counts wholly in the period its start falls in,
 * i.e. both ends round down to the hour. Up to 59 minutes of usage right after local midnight
 * are therefore counted in the period before. resetsAt stays the exact local midnight.
 */
export function ledgerRange(bounds: PeriodBounds): { from: Date; to: Date } {
  const floor = (d: Date) => new Date(Math.floor(d.getTime() / HOUR_MS) * HOUR_MS)
  return { from: floor(bounds.start), to: floor(bounds.end) }
}

/** hourStart parses a ledger hour label (`2026-11-23T15`) into its UTC instant. */
export function hourStart(hour: string): Date {
  const ms = Date.parse(`${hour}:00:00Z`)
  if (Number.isNaN(ms)) throw new Error(`invalid usage hour ${JSON.stringify(hour)}`)
  return new Date(ms)
}
