import type { BudgetPeriod } from './tenant.ts'

/** Period is one calendar day or month in a time zone, as the half-open instant range [start, end). */
export interface Period {
  period: BudgetPeriod
  timeZone: string
  /** The label `keys.spend` takes: `2026-11-23` for a day, `2026-11` for a month (local date). */
  label: string
  /** First instant of the period, epoch ms. */
  start: number
  /** First instant of the next period, epoch ms. */
  end: number
}

interface LocalParts {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
}

const HOUR_MS = 3_600_000
/** No zone is more than 14 hours off UTC; 15 bounds the search for a local midnight. */
const SEARCH_MS = 15 * HOUR_MS

const pad = (n: number, width = 2) => String(n).padStart(width, '0')
const dateKey = (p: { year: number; month: number; day: number }) => p.year * 10_000 + p.month * 100 + p.day

/**
 * BudgetCalendar computes budget periods aligned to the calendar of an IANA time zone with
 * `Intl.DateTimeFormat` only. Days are 23 or 25 hours long across DST changes; a day whose
 * midnight does not exist locally (zones that spring forward at 00:00) starts at the first
 * instant that carries its date. Results are memoised per zone and period until they end, so the
 * request path formats dates only once per period.
 */
export class BudgetCalendar {
  #formatters = new Map<string, Intl.DateTimeFormat>()
  #current = new Map<string, [Period, Period, Period]>()

  /** periodAt returns the period of the given kind that contains the instant `at` (epoch ms). */
  periodAt(period: BudgetPeriod, timeZone: string, at: number): Period {
    return this.around(period, timeZone, at)[1]
  }

  /**
   * around returns the period containing `at` with its predecessor and successor. The Redis
   * limiter hands all three to its script, which picks the one containing the Redis server's
   * time, so a sidecar clock that is a little off never charges the wrong period.
   */
  around(period: BudgetPeriod, timeZone: string, at: number): [Period, Period, Period] {
    const memoKey = `${period}|${timeZone}`
    const memo = this.#current.get(memoKey)
    if (memo && memo[1].start <= at && at < memo[1].end) return memo
    const current = this.#compute(period, timeZone, at)
    const triple: [Period, Period, Period] = [
      this.#compute(period, timeZone, current.start - 1),
      current,
      this.#compute(period, timeZone, current.end),
    ]
    this.#current.set(memoKey, triple)
    return triple
  }

  #compute(period: BudgetPeriod, timeZone: string, at: number): Period {
    const local = this.#parts(timeZone, at)
    if (period === 'day') {
      return {
        period,
        timeZone,
        label: `${pad(local.year, 4)}-${pad(local.month)}-${pad(local.day)}`,
        start: this.startOfLocalDate(timeZone, local.year, local.month, local.day),
        end: this.startOfLocalDate(timeZone, local.year, local.month, local.day + 1),
      }
    }
    return {
      period,
      timeZone,
      label: `${pad(local.year, 4)}-${pad(local.month)}`,
      start: this.startOfLocalDate(timeZone, local.year, local.month, 1),
      end: this.startOfLocalDate(timeZone, local.year, local.month + 1, 1),
    }
  }

  /**
   * startOfLocalDate returns the first instant whose local date in the zone is the given date.
   * Month and day may overflow (month 13, day 32) and are normalised like `Date.UTC` does.
   */
  startOfLocalDate(timeZone: string, year: number, month: number, day: number): number {
    const nominal = Date.UTC(year, month - 1, day)
    const d = new Date(nominal)
    const target = dateKey({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() })
    // Fast path: local midnight = nominal - offset, where the offset is read at the guess itself
    // (two steps settle it unless midnight falls into a DST gap).
    let guess = nominal - this.#offset(timeZone, nominal)
    guess = nominal - this.#offset(timeZone, guess)
    if (this.#isFirstInstantOf(timeZone, guess, target)) return guess
    // Slow path (midnight skipped or repeated): the first second whose local date is the target.
    let lo = Math.floor((nominal - SEARCH_MS) / 1000)
    let hi = Math.ceil((nominal + SEARCH_MS) / 1000)
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2)
      if (dateKey(this.#parts(timeZone, mid * 1000)) >= target) hi = mid
      else lo = mid + 1
    }
    return lo * 1000
  }

  #isFirstInstantOf(timeZone: string, at: number, target: number): boolean {
    return dateKey(this.#parts(timeZone, at)) === target && dateKey(this.#parts(timeZone, at - 1000)) < target
  }

  /** offset is local wall time minus UTC at the instant, in ms (whole seconds). */
  #offset(timeZone: string, at: number): number {
    const p = this.#parts(timeZone, at)
    const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second)
    return wall - Math.floor(at / 1000) * 1000
  }

  #parts(timeZone: string, at: number): LocalParts {
    const parts = this.#formatter(timeZone).formatToParts(at)
    const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value)
    return {
      year: get('year'),
      month: get('month'),
      day: get('day'),
      hour: get('hour'),
      minute: get('minute'),
      second: get('second'),
    }
  }

  #formatter(timeZone: string): Intl.DateTimeFormat {
    let f = this.#formatters.get(timeZone)
    if (!f) {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        hourCycle: 'h23',
      })
      this.#formatters.set(timeZone, f)
    }
    return f
  }
}
