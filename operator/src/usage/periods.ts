import type { BudgetPeriod } from '@tollgate/api'

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

interface WallClock {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
}

const formatters = new Map<string, Intl.DateTimeFormat>()

function wallClock(ms: number, timezone: string): WallClock {
  let format = formatters.get(timezone)
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    formatters.set(timezone, format)
  }
  const parts = Object.fromEntries(format.formatToParts(new Date(ms)).map((p) => [p.type, p.value]))
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
  }
}

/** offsetMs is how far the zone's wall clock is ahead of UTC at an instant. */
export function offsetMs(ms: number, timezone: string): number {
  const w = wallClock(ms, timezone)
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second)
  return asUtc - Math.floor(ms / 1000) * 1000
}

/**
 * startOfLocalDay is the first instant of a local calendar date in a zone. Local midnight is
 * found by correcting a UTC guess with the zone's offset twice (the second pass settles DST
 * changes); where a DST change skips midnight the day starts at the first local time that exists.
 */
export function startOfLocalDay(year: number, month: number, day: number, timezone: string): number {
  const wall = Date.UTC(year, month - 1, day)
  const first = wall - offsetMs(wall, timezone)
  const t = wall - offsetMs(first, timezone)
  const localDate = (ms: number) => {
    const w = wallClock(ms, timezone)
    return Date.UTC(w.year, w.month - 1, w.day)
  }
  if (localDate(t) >= wall) return t
  // Midnight does not exist here (DST skips it): find the first instant of the date.
  let lo = t
  let hi = t + 3 * HOUR_MS
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000
    if (localDate(mid) >= wall) hi = mid
    else lo = mid
  }
  return hi
}

/** periodBounds is the period of the given kind that contains `at`, in the zone. */
export function periodBounds(period: BudgetPeriod, timezone: string, at: Date): PeriodBounds {
  const w = wallClock(at.getTime(), timezone)
  const pad = (n: number) => String(n).padStart(2, '0')
  if (period === 'day') {
    const next = new Date(Date.UTC(w.year, w.month - 1, w.day + 1))
    return {
      period,
      timezone,
      start: new Date(startOfLocalDay(w.year, w.month, w.day, timezone)),
      end: new Date(
        startOfLocalDay(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), timezone),
      ),
      label: `${w.year}-${pad(w.month)}-${pad(w.day)}`,
    }
  }
  const next = new Date(Date.UTC(w.year, w.month, 1))
  return {
    period,
    timezone,
    start: new Date(startOfLocalDay(w.year, w.month, 1, timezone)),
    end: new Date(startOfLocalDay(next.getUTCFullYear(), next.getUTCMonth() + 1, 1, timezone)),
    label: `${w.year}-${pad(w.month)}`,
  }
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
