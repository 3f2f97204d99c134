import type { Metric, Registry } from 'prom-client'

/** HistogramSeries is one label set of a CallHistogram. */
export interface HistogramSeries {
  observe(value: number): void
}

interface HistogramValue {
  value: number
  labels: Record<string, string | number>
  sharedLabels: Record<string, string>
  metricName: string
}

interface Cells {
  labels: Record<string, string>
  /** Observations per bucket (not cumulative); the last cell is +Inf. */
  counts: Float64Array
  sum: number
  count: number
}

/**
 * CallHistogram is a Prometheus histogram for the per-call path: each label set is bound once to
 * plain cells, so an observation is a bucket search and three additions. prom-client's Histogram
 * builds and hashes the label set again on every observation, even through `labels()`, and its
 * series cost about as much as the rest of the metrics stage (issue 14's profile). It implements
 * prom-client's metric interface, so a Registry serves it like its own: the same lines, in the
 * same order, as a prom-client Histogram with the same observations (call-histogram.test.ts).
 */
export class CallHistogram {
  readonly name: string
  readonly help: string
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  readonly #bounds: readonly number[]
  readonly #series = new Map<string, Cells>()

  constructor(opts: { name: string; help: string; buckets: readonly number[]; registers: Registry[] }) {
    this.name = opts.name
    this.help = opts.help
    this.#bounds = [...opts.buckets].sort((a, b) => a - b)
    // the Registry reads name, help, type and get(); the Metric type lists only its own classes
    for (const registry of opts.registers) registry.registerMetric(this as unknown as Metric)
  }

  /** series binds a label set; keep what it returns and observe through it. */
  series(labels: Record<string, string>): HistogramSeries {
    const id = Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join('\u0000')
    let cells = this.#series.get(id)
    if (!cells) {
      cells = { labels: { ...labels }, counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 }
      this.#series.set(id, cells)
    }
    const bound = cells
    const bounds = this.#bounds
    return {
      observe(value: number): void {
        if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`)
        let i = 0
        while (i < bounds.length && value > (bounds[i] as number)) i++
        bound.counts[i] = (bound.counts[i] as number) + 1
        bound.sum += value
        bound.count++
      },
    }
  }

  /** get is what the Registry formats: prom-client's own shape (`sharedLabels` are the series'). */
  async get() {
    const values: HistogramValue[] = []
    for (const { labels, counts, sum, count } of this.#series.values()) {
      let cumulative = 0
      for (let i = 0; i < counts.length; i++) {
        cumulative += counts[i] as number
        const le = i < this.#bounds.length ? (this.#bounds[i] as number) : '+Inf'
        values.push({
          value: cumulative,
          labels: { le },
          sharedLabels: labels,
          metricName: `${this.name}_bucket`,
        })
      }
      values.push({ value: sum, labels: {}, sharedLabels: labels, metricName: `${this.name}_sum` })
      values.push({ value: count, labels: {}, sharedLabels: labels, metricName: `${this.name}_count` })
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }

  reset(): void {
    this.#series.clear()
  }
}
