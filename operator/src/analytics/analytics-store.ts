import type { Db } from '../store/db.ts'

/** DIMENSIONS are what usage can be grouped by, and their ledger columns. */
export const DIMENSIONS = {
  tenant: 'tenant',
  provider: 'provider',
  model: 'model',
  namespace: 'namespace',
  workload: 'workload',
  user: 'end_user',
} as const
export type Dimension = keyof typeof DIMENSIONS

/** BUCKETS are the time buckets of a series (UTC). */
export const BUCKETS = ['hour', 'day', 'month'] as const
export type Bucket = (typeof BUCKETS)[number]

/** Sums are the figures every analytics row carries. */
export interface Sums {
  requests: number
  inputTokens: number
  outputTokens: number
  costNano: number
  cacheHits: number
  /** What the cache hits would have cost at the provider. */
  cacheSavedNano: number
  /** Calls answered with an error (4xx, 5xx, refusals). */
  errors: number
}

/** Summary is a range's totals, with the cache hit rate (hits / requests, 0 without requests). */
export type Summary = Sums & { cacheHitRate: number }

/** Grouped is the sums of one value of a dimension. */
export type Grouped = Sums & { key: string }

/** SeriesPoint is the sums of one bucket, and of one value of a dimension when grouped. */
export type SeriesPoint = Sums & { start: string; key?: string }

/** Range is a tenant (or several) and [from, to). */
export interface Range {
  tenants: string[]
  from: Date
  to: Date
}

const SUMS = `coalesce(sum(requests), 0) AS requests,
  coalesce(sum(input_tokens), 0) AS input_tokens,
  coalesce(sum(output_tokens), 0) AS output_tokens,
  coalesce(sum(cost_nano), 0) AS cost_nano,
  coalesce(sum(cache_hits), 0) AS cache_hits,
  coalesce(sum(cache_saved_nano), 0) AS cache_saved_nano,
  coalesce(sum(errors), 0) AS errors`

const sums = (row: Record<string, unknown>): Sums => ({
  requests: Number(row.requests),
  inputTokens: Number(row.input_tokens),
  outputTokens: Number(row.output_tokens),
  costNano: Number(row.cost_nano),
  cacheHits: Number(row.cache_hits),
  cacheSavedNano: Number(row.cache_saved_nano),
  errors: Number(row.errors),
})

/**
 * AnalyticsStore answers the analytics API and the console from the hourly ledger: sums over a
 * range, per bucket, per value of a dimension, the top values. Every query names its tenants and
 * a range of hours, which the primary key (tenant, hour, ...) and usage_hourly_tenant_hour_analytics
 * serve; the grouping runs over at most a range's rows of those tenants.
 */
export class AnalyticsStore {
  readonly #db: Db
  constructor(db: Db) {
    this.#db = db
  }

  /** summary sums the range. */
  async summary(range: Range): Promise<Summary> {
    const { rows } = await this.#db.query(
      `SELECT ${SUMS} FROM usage_hourly WHERE tenant = ANY($1) AND hour >= $2 AND hour < $3`,
      [range.tenants, range.from, range.to],
    )
    const s = sums(rows[0] ?? {})
    return { ...s, cacheHitRate: s.requests > 0 ? s.cacheHits / s.requests : 0 }
  }

  /** grouped sums the range per value of a dimension, largest spend first; `limit` keeps the top. */
  async grouped(range: Range, by: Dimension, limit?: number): Promise<Grouped[]> {
    const column = DIMENSIONS[by]
    const { rows } = await this.#db.query(
      `SELECT ${column} AS key, ${SUMS} FROM usage_hourly
       WHERE tenant = ANY($1) AND hour >= $2 AND hour < $3
       GROUP BY ${column} ORDER BY sum(cost_nano) DESC, sum(requests) DESC, ${column}
       ${limit === undefined ? '' : 'LIMIT $4'}`,
      [range.tenants, range.from, range.to, ...(limit === undefined ? [] : [limit])],
    )
    return rows.map((row) => ({ key: row.key as string, ...sums(row) }))
  }

  /** series sums the range per UTC bucket (and per value of `by`), oldest first; empty buckets are left out. */
  async series(range: Range, bucket: Bucket, by?: Dimension): Promise<SeriesPoint[]> {
    const column = by && DIMENSIONS[by]
    const { rows } = await this.#db.query(
      `SELECT date_trunc('${bucket}', hour, 'UTC') AS start${column ? `, ${column} AS key` : ''}, ${SUMS}
       FROM usage_hourly WHERE tenant = ANY($1) AND hour >= $2 AND hour < $3
       GROUP BY 1${column ? ', 2' : ''} ORDER BY 1${column ? ', 2' : ''}`,
      [range.tenants, range.from, range.to],
    )
    return rows.map((row) => ({
      start: (row.start as Date).toISOString(),
      ...(column && { key: row.key as string }),
      ...sums(row),
    }))
  }
}
