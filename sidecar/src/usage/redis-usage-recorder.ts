import { keys } from '@tollgate/api/redis-keys.ts'
import type { Logger } from 'pino'
import type { RedisClient } from '../config/redis-client.ts'
import { type UsageRecord, type UsageRecorder, UsageTable } from './usage-recorder.ts'

/**
 * RedisUsageRecorder adds each call to the tenant's per-hour usage hash in Redis
 * (`keys.usage(tenant, hour)`, fields `usageField(...)`) and marks the hour in
 * `keys.usageHours(tenant)` for the operator's roll-up. Records are merged in memory and written
 * every `intervalMs` in one MULTI round trip, so the response path never waits on Redis; a failed
 * write stays pending and goes out with the next one (nothing is lost while Redis is away, and a
 * write is all-or-nothing).
 */
export class RedisUsageRecorder implements UsageRecorder {
  readonly #client: RedisClient
  readonly #tenant: string
  readonly #log: Logger
  readonly #intervalMs: number
  #pending = new UsageTable()
  #timer: NodeJS.Timeout | undefined = undefined
  #flushing: Promise<void> | undefined = undefined
  #failures = 0

  constructor(opts: { client: RedisClient; tenant: string; log: Logger; intervalMs?: number }) {
    this.#client = opts.client
    this.#tenant = opts.tenant
    this.#log = opts.log
    this.#intervalMs = opts.intervalMs ?? 200
  }

  record(record: UsageRecord): void {
    this.#pending.add(record)
    this.#schedule()
  }

  #schedule(): void {
    if (this.#timer || this.#pending.size === 0) return
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
    if (this.#pending.size === 0) return
    const batch = this.#pending
    this.#pending = new UsageTable()
    this.#flushing = this.#write(batch).finally(() => {
      this.#flushing = undefined
    })
    await this.#flushing
  }

  async #write(batch: UsageTable): Promise<void> {
    const multi = this.#client.multi()
    for (const [hour, field, by] of batch.fields()) multi.hincrby(keys.usage(this.#tenant, hour), field, by)
    multi.sadd(keys.usageHours(this.#tenant), ...batch.hours())
    try {
      const results = await multi.exec()
      const failed = results?.find(([err]) => err)
      if (!results || failed) throw failed?.[0] ?? new Error('transaction discarded')
      if (this.#failures) this.#log.info({ failures: this.#failures }, 'usage writes to Redis resumed')
      this.#failures = 0
    } catch (err) {
      this.#pending.merge(batch)
      if (this.#failures++ === 0) this.#log.warn({ err }, 'usage write to Redis failed; retrying')
      this.#schedule()
      throw new Error('write usage to Redis', { cause: err })
    }
  }

  async close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    await this.flush().catch(() => {})
  }
}
