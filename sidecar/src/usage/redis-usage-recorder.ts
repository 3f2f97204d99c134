import { randomBytes } from 'node:crypto'
import { keys, usageHour } from '@tollgate/api/redis-keys.ts'
import type { Logger } from 'pino'
import type { RedisClient } from '../config/redis-client.ts'
import { type UsageRecord, type UsageRecorder, UsageTable } from './usage-recorder.ts'

const HOUR_MS = 3_600_000

/**
 * RedisUsageRecorder keeps this process's absolute usage totals per hour and writes them to the
 * tenant's per-hour usage hash in Redis (`keys.usage(tenant, hour)`, fields `usageField(...,
 * instance)` of this process's own instance id), marking the hour in `keys.usageHours(tenant)` for
 * the operator's roll-up. Writes go out every `intervalMs` in one MULTI round trip, so the
 * response path never waits on Redis, and they set totals (HSET) rather than add to them:
 * - a write that failed, or timed out after Redis applied it, is sent again and counts once;
 * - after Redis lost its data (a restart without persistence, a failover to an empty replica),
 *   every (re)connect writes all the totals this process holds again, so what it counted before
 *   is back before the operator's next flush.
 * The totals of the current and the previous hour are kept (the operator flushes an hour five
 * minutes after it ends); older hours are dropped once written.
 */
export class RedisUsageRecorder implements UsageRecorder {
  readonly #client: RedisClient
  readonly #tenant: string
  readonly #log: Logger
  readonly #intervalMs: number
  /** instance names this process's fields: one per start, so two processes never set each other's totals. */
  readonly instance = randomBytes(6).toString('hex')
  readonly #totals = new UsageTable()
  /** Hours whose totals changed since they were last written. */
  #dirty = new Set<string>()
  #timer: NodeJS.Timeout | undefined = undefined
  #flushing: Promise<void> | undefined = undefined
  #failures = 0
  #hourMs = -1
  #hour = ''

  constructor(opts: { client: RedisClient; tenant: string; log: Logger; intervalMs?: number }) {
    this.#client = opts.client
    this.#tenant = opts.tenant
    this.#log = opts.log
    this.#intervalMs = opts.intervalMs ?? 200
    // A new connection may be to a Redis that lost its data: write everything again.
    this.#client.on('ready', () => {
      for (const hour of this.#totals.hours()) this.#dirty.add(hour)
      this.#schedule()
    })
  }

  record(record: UsageRecord): void {
    this.#totals.add(record)
    const hourMs = record.at - (record.at % HOUR_MS)
    if (hourMs !== this.#hourMs) {
      this.#hourMs = hourMs
      this.#hour = usageHour(new Date(hourMs))
    }
    this.#dirty.add(this.#hour)
    this.#schedule()
  }

  #schedule(): void {
    if (this.#timer || this.#dirty.size === 0) return
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined
        this.flush().catch(() => {})
      },
      this.#intervalMs * Math.min(2 ** this.#failures, 25),
    )
    this.#timer.unref()
  }

  async flush(): Promise<void> {
    await this.#flushing
    if (this.#dirty.size === 0) return
    const hours = this.#dirty
    this.#dirty = new Set()
    this.#flushing = this.#write(hours).finally(() => {
      this.#flushing = undefined
    })
    await this.#flushing
  }

  async #write(hours: Set<string>): Promise<void> {
    const byHour = new Map<string, Record<string, number>>()
    for (const [hour, field, total] of this.#totals.fields(this.instance)) {
      if (!hours.has(hour)) continue
      const fields = byHour.get(hour) ?? {}
      fields[field] = total
      byHour.set(hour, fields)
    }
    if (byHour.size === 0) return
    const multi = this.#client.multi()
    for (const [hour, fields] of byHour) multi.hset(keys.usage(this.#tenant, hour), fields)
    multi.sadd(keys.usageHours(this.#tenant), ...byHour.keys())
    try {
      const results = await multi.exec()
      const failed = results?.find(([err]) => err)
      if (!results || failed) throw failed?.[0] ?? new Error('transaction discarded')
      if (this.#failures) this.#log.info({ failures: this.#failures }, 'usage writes to Redis resumed')
      this.#failures = 0
      this.#forgetOldHours()
    } catch (err) {
      for (const hour of hours) this.#dirty.add(hour)
      if (this.#failures++ === 0) this.#log.warn({ err }, 'usage write to Redis failed; retrying')
      this.#schedule()
      throw new Error('write usage to Redis', { cause: err })
    }
  }

  /** forgetOldHours drops written hours before the previous one: the operator has had them. */
  #forgetOldHours(): void {
    const previous = usageHour(new Date(Date.now() - HOUR_MS))
    for (const hour of this.#totals.hours())
      if (hour < previous && !this.#dirty.has(hour)) this.#totals.delete(hour)
  }

  async close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    await this.flush().catch(() => {})
  }
}
