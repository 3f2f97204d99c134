import { USAGE_COUNTERS, type UsageCounter, usageField, usageHour } from '@tollgate/api'

/** UsageRecord is one finished call, as the per-hour usage counters count it. */
export interface UsageRecord {
  at: Date
  provider: string
  model: string
  namespace: string
  counters: Partial<Record<UsageCounter, number>>
}

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

/** UsageTotals are the totals of one hour, provider, model and namespace. */
export interface UsageTotals {
  hour: string
  provider: string
  model: string
  namespace: string
  counters: Record<UsageCounter, number>
}

/** fieldsOf turns a record into (hour, field, increment) triples with the shared field layout. */
export function* fieldsOf(record: UsageRecord): Generator<[hour: string, field: string, by: number]> {
  const hour = usageHour(record.at)
  const model = record.model.replaceAll('|', '_')
  for (const counter of USAGE_COUNTERS) {
    const by = record.counters[counter]
    if (by) yield [hour, usageField(record.provider, model, record.namespace, counter), by]
  }
}

/** MemoryUsageRecorder keeps the totals in the process (standalone mode without Redis). */
export class MemoryUsageRecorder implements UsageRecorder {
  readonly #hours = new Map<string, Map<string, number>>()

  record(record: UsageRecord): void {
    for (const [hour, field, by] of fieldsOf(record)) {
      let fields = this.#hours.get(hour)
      if (!fields) {
        fields = new Map()
        this.#hours.set(hour, fields)
      }
      fields.set(field, (fields.get(field) ?? 0) + by)
    }
  }

  /** totals lists the counters per hour, provider, model and namespace. */
  totals(): UsageTotals[] {
    const rows = new Map<string, UsageTotals>()
    for (const [hour, fields] of this.#hours) {
      for (const [field, value] of fields) {
        const [provider = '', model = '', namespace = '', counter] = field.split('|')
        const id = `${hour}|${provider}|${model}|${namespace}`
        let row = rows.get(id)
        if (!row) {
          row = {
            hour,
            provider,
            model,
            namespace,
            counters: Object.fromEntries(USAGE_COUNTERS.map((c) => [c, 0])) as Record<UsageCounter, number>,
          }
          rows.set(id, row)
        }
        row.counters[counter as UsageCounter] = value
      }
    }
    return [...rows.values()]
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}
