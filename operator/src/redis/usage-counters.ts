import { keys, USAGE_COUNTERS, type UsageCounter } from '@tollgate/api'
import type { RedisClient } from './redis-client.ts'

/**
 * UsageRow is the totals of one tenant, hour, provider, model, namespace, workload and end user,
 * as one sidecar instance set them.
 */
export interface UsageRow {
  provider: string
  model: string
  namespace: string
  /** The pod's workload (`deployment/app`); '' from older sidecars. */
  workload?: string
  /** The end user the calls named; '' (or absent) for none or from older sidecars. */
  user?: string
  /** The sidecar process that counted them; '' for the shared totals older sidecars incremented. */
  instance?: string
  counters: Record<UsageCounter, number>
}

/** HourUsage is one hour hash as read, with the checksum that proves it unchanged later. */
export interface HourUsage {
  hour: string
  rows: UsageRow[]
  checksum: string
}

const emptyCounters = () =>
  Object.fromEntries(USAGE_COUNTERS.map((c) => [c, 0])) as Record<UsageCounter, number>

/**
 * parseUsageHash turns an hour hash (`provider|model|namespace|counter|instance|workload|user` →
 * total; without `|workload|user` or also without `|instance` from older sidecars) into rows, one
 * per series and instance.
 * Fields of unknown counters are ignored (a newer sidecar may count more); malformed fields too.
 * The checksum is the field count and the sum of all values: counters only grow, so an equal
 * checksum means an unchanged hash.
 */
export function parseUsageHash(hour: string, hash: Record<string, string>): HourUsage {
  const rows = new Map<string, UsageRow>()
  for (const [field, raw] of Object.entries(hash)) {
    const value = Number(raw)
    const parts = field.split('|')
    if (parts.length !== 4 && parts.length !== 5 && parts.length !== 7) continue
    const [provider, model, namespace, counter, instance = '', workload = '', user = ''] = parts as [
      string,
      string,
      string,
      string,
      string?,
      string?,
      string?,
    ]
    if (!(USAGE_COUNTERS as readonly string[]).includes(counter) || !Number.isFinite(value)) continue
    const id = `${provider}|${model}|${namespace}|${workload}|${user}|${instance}`
    let row = rows.get(id)
    if (!row) {
      row = { provider, model, namespace, workload, user, instance, counters: emptyCounters() }
      rows.set(id, row)
    }
    row.counters[counter as UsageCounter] = value
  }
  return { hour, rows: [...rows.values()], checksum: luaChecksum(hash) }
}

/**
 * RELEASE removes an hour from the tenant's set of unflushed hours only if the hash still has the
 * checksum that was flushed: a sidecar write in between keeps the hour for the next flush. The
 * hash itself stays (with an expiry), so a late write still adds to the full totals.
 */
const RELEASE = `
local values = redis.call('HGETALL', KEYS[2])
local sum = 0
local fields = 0
for i = 2, #values, 2 do
  fields = fields + 1
  sum = sum + tonumber(values[i])
end
local seen = tostring(fields) .. ':' .. string.format('%.17g', sum)
if seen ~= ARGV[2] then return 0 end
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
`

/** How long a flushed hour hash stays in Redis for late writes. */
const FLUSHED_HOUR_TTL_SECONDS = 48 * 3600

/** UsageCounters reads the sidecars' hourly counters of a tenant and releases flushed hours. */
export class UsageCounters {
  readonly #redis: RedisClient
  constructor(redis: RedisClient) {
    this.#redis = redis
  }

  /** hours lists the hours with usage not yet known to be in the ledger, oldest first. */
  async hours(tenant: string): Promise<string[]> {
    return (await this.#redis.smembers(keys.usageHours(tenant))).sort()
  }

  async read(tenant: string, hour: string): Promise<HourUsage> {
    return parseUsageHash(hour, await this.#redis.hgetall(keys.usage(tenant, hour)))
  }

  /** release drops a flushed, closed hour from the set; false when it changed since it was read. */
  async release(tenant: string, usage: HourUsage): Promise<boolean> {
    const result = await this.#redis.eval(
      RELEASE,
      2,
      keys.usageHours(tenant),
      keys.usage(tenant, usage.hour),
      usage.hour,
      usage.checksum,
      FLUSHED_HOUR_TTL_SECONDS,
    )
    return result === 1
  }
}

/** luaChecksum computes the checksum exactly as the RELEASE script formats it. */
export function luaChecksum(hash: Record<string, string>): string {
  let sum = 0
  let fields = 0
  for (const raw of Object.values(hash)) {
    fields++
    sum += Number(raw)
  }
  return `${fields}:${formatG17(sum)}`
}

/** formatG17 mimics C's `%.17g` for the integers counters hold. */
function formatG17(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e17) return value.toFixed(0)
  return value.toPrecision(17).replace(/\.?0+(e|$)/, '$1')
}
