import {
  OTHER_END_USER,
  USAGE_COUNTERS,
  type UsageCounter,
  usageField,
  usageHour,
} from '@tollgate/api/redis-keys.ts'

/** UsageRecord is one finished call, as the per-hour usage counters count it. */
export interface UsageRecord {
  /** When the call ended, epoch milliseconds. */
  at: number
  provider: string
  model: string
  namespace: string
  /** The pod's workload (`deployment/app`); '' when not known. */
  workload?: string
  /** The end user the request named (end-user.ts); '' for none. */
  user?: string
  counters: Partial<Record<UsageCounter, number>>
}

/**
 * MAX_END_USERS_PER_HOUR bounds the distinct end users one sidecar process keeps per hour; later
 * ones count as `other`. The operator applies the tenant's own, smaller cap when it writes the
 * ledger; this one only bounds the process's memory.
 */
export const MAX_END_USERS_PER_HOUR = 1000

/**
 * UsageRecorder keeps per-hour absolute usage totals. `record` is called once per call when it
 * finishes and must return at once: the write happens off the response path.
 */
export interface UsageRecorder {
  record(record: UsageRecord): void
  /** flush writes what is pending (tests, shutdown). */
  flush(): Promise<void>
  close(): Promise<void>
}

/** UsageTotals are the totals of one hour, provider, model, namespace, workload and user. */
export interface UsageTotals {
  hour: string
  provider: string
  model: string
  namespace: string
  workload: string
  user: string
  counters: Record<UsageCounter, number>
}

/**
 * UsageTable sums records per hour and series (provider, model, namespace) in plain number arrays
 * in USAGE_COUNTERS order; the `usageField` strings are only built when the table is read.
 */
export class UsageTable {
  #hours = new Map<string, Map<string, number[]>>()
  #users = new Map<string, Set<string>>()
  #lastMs = -1
  #lastHour = ''

  get size(): number {
    return this.#hours.size
  }

  add(record: UsageRecord): void {
    const ms = record.at
    // one hour string per hour, not per call
    if (ms - (ms % 3_600_000) !== this.#lastMs) {
      this.#lastMs = ms - (ms % 3_600_000)
      this.#lastHour = usageHour(new Date(ms))
    }
    let series = this.#hours.get(this.#lastHour)
    if (!series) {
      series = new Map()
      this.#hours.set(this.#lastHour, series)
    }
    const id = `${record.provider}|${record.model.replaceAll('|', '_')}|${record.namespace}|${record.workload ?? ''}|${this.#user(record.user ?? '')}`
    let sums = series.get(id)
    if (!sums) {
      sums = USAGE_COUNTERS.map(() => 0)
      series.set(id, sums)
    }
    const c = record.counters
    for (let i = 0; i < USAGE_COUNTERS.length; i++)
      sums[i] = (sums[i] as number) + (c[USAGE_COUNTERS[i] as UsageCounter] ?? 0)
  }

  /** #user is the user a record counts under: itself, or `other` once the hour has too many. */
  #user(user: string): string {
    if (user === '') return ''
    let users = this.#users.get(this.#lastHour)
    if (!users) {
      users = new Set()
      this.#users.set(this.#lastHour, users)
    }
    if (users.has(user)) return user
    if (users.size >= MAX_END_USERS_PER_HOUR) return OTHER_END_USER
    users.add(user)
    return user
  }

  /** merge adds another table's sums into this one (a failed write going back to pending). */
  merge(other: UsageTable): void {
    for (const [hour, series] of other.#hours) {
      let mine = this.#hours.get(hour)
      if (!mine) {
        mine = new Map()
        this.#hours.set(hour, mine)
      }
      for (const [id, sums] of series) {
        const into = mine.get(id)
        if (into) for (let i = 0; i < sums.length; i++) into[i] = (into[i] as number) + (sums[i] as number)
        else mine.set(id, [...sums])
      }
    }
  }

  hours(): string[] {
    return [...this.#hours.keys()]
  }

  /** delete forgets an hour. */
  delete(hour: string): void {
    this.#hours.delete(hour)
    this.#users.delete(hour)
  }

  /** fields yields (hour, usageField, sum) for every non-zero sum, of one instance when given. */
  *fields(instance?: string): Generator<[hour: string, field: string, sum: number]> {
    for (const [hour, series] of this.#hours) {
      for (const [id, sums] of series) {
        const [provider = '', model = '', namespace = '', workload = '', user = ''] = id.split('|')
        for (let i = 0; i < USAGE_COUNTERS.length; i++) {
          const sum = sums[i] as number
          if (sum)
            yield [
              hour,
              usageField(provider, model, namespace, USAGE_COUNTERS[i] as UsageCounter, instance, {
                workload,
                user,
              }),
              sum,
            ]
        }
      }
    }
  }

  totals(): UsageTotals[] {
    const rows: UsageTotals[] = []
    for (const [hour, series] of this.#hours) {
      for (const [id, sums] of series) {
        const [provider = '', model = '', namespace = '', workload = '', user = ''] = id.split('|')
        const counters = Object.fromEntries(USAGE_COUNTERS.map((c, i) => [c, sums[i] ?? 0])) as Record<
          UsageCounter,
          number
        >
        rows.push({ hour, provider, model, namespace, workload, user, counters })
      }
    }
    return rows
  }
}

/** MemoryUsageRecorder keeps the totals in the process (standalone mode without Redis). */
export class MemoryUsageRecorder implements UsageRecorder {
  readonly #table = new UsageTable()

  record(record: UsageRecord): void {
    this.#table.add(record)
  }

  /** totals lists the counters per hour, provider, model and namespace. */
  totals(): UsageTotals[] {
    return this.#table.totals()
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}
