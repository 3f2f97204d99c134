import { parseRange } from '../usage/usage-export.ts'
import { BUCKETS, type Bucket, DIMENSIONS, type Dimension } from './analytics-store.ts'

/** AnalyticsQuery is a validated analytics request. */
export interface AnalyticsQuery {
  tenant?: string
  from: Date
  to: Date
  bucket: Bucket
  by?: Dimension
  top: number
}

const MAX_TOP = 100
/** A month of hours, plus a day: the most hourly buckets one series may ask for. */
const MAX_HOUR_BUCKETS = 31 * 24 + 24

/**
 * parseAnalyticsQuery reads `tenant`, `from`, `to` (as the export: dates or RFC 3339, default
 * today so far), `bucket` (hour, day, month; default hour), `by` (a dimension) and `top` (1..100,
 * default 10), or says what is wrong with them, for a 400.
 */
export function parseAnalyticsQuery(url: URL, now = new Date()): AnalyticsQuery | { invalid: string } {
  const p = url.searchParams
  let range: { from: Date; to: Date }
  try {
    range = parseRange(p.get('from') ?? undefined, p.get('to') ?? undefined, now)
  } catch (error) {
    return { invalid: (error as Error).message }
  }
  const bucket = p.get('bucket') ?? 'hour'
  if (!(BUCKETS as readonly string[]).includes(bucket)) return { invalid: 'bucket is hour, day or month' }
  if (bucket === 'hour' && range.to.getTime() - range.from.getTime() > MAX_HOUR_BUCKETS * 3_600_000)
    return { invalid: 'hourly buckets cover at most 32 days: ask for bucket=day or a shorter range' }
  const by = p.get('by') ?? undefined
  if (by !== undefined && !(by in DIMENSIONS))
    return { invalid: `by is one of ${Object.keys(DIMENSIONS).join(', ')}` }
  const top = Number(p.get('top') ?? 10)
  if (!Number.isInteger(top) || top < 1 || top > MAX_TOP)
    return { invalid: `top is an integer from 1 to ${MAX_TOP}` }
  const tenant = p.get('tenant') ?? undefined
  return {
    ...(tenant && { tenant }),
    ...range,
    bucket: bucket as Bucket,
    ...(by && { by: by as Dimension }),
    top,
  }
}
