import { type CallEvent, FEED_MAX_LENGTH, feedEntry } from '@tollgate/api/feed.ts'
import { keys } from '@tollgate/api/redis-keys.ts'
import type { RedisClient } from '../config/redis-client.ts'
import { LuaScript } from '../limits/lua-script.ts'
import { lazily } from '../resilience/lazily.ts'

const APPEND = LuaScript.fromFile(new URL('./feed-append.lua', import.meta.url))

/** FeedPublisher reports finished calls to the tenant's live feed; `publish` never waits. */
export interface FeedPublisher {
  publish(event: CallEvent): void
  close(): Promise<void>
}

/** The most events held while Redis is away; older ones are dropped (the feed is best effort). */
const MAX_PENDING = 500

/**
 * RedisFeedPublisher appends call events to `keys.feed(tenant)` (XADD, MAXLEN ~ FEED_MAX_LENGTH),
 * batched every `intervalMs` into one feed-append.lua call, sent as a lazy command, so the
 * response path never waits on Redis and a call costs no command of its own. The feed
 * is a view, not a record (the usage counters are that): events that cannot be written are
 * dropped, at most MAX_PENDING are held.
 */
export class RedisFeedPublisher implements FeedPublisher {
  readonly #client: RedisClient
  readonly #key: string
  readonly #intervalMs: number
  #pending: CallEvent[] = []
  #timer: NodeJS.Timeout | undefined

  constructor(opts: { client: RedisClient; tenant: string; intervalMs?: number }) {
    this.#client = opts.client
    this.#key = keys.feed(opts.tenant)
    this.#intervalMs = opts.intervalMs ?? 100
  }

  publish(event: CallEvent): void {
    if (this.#pending.length >= MAX_PENDING) this.#pending.shift()
    this.#pending.push(event)
    if (this.#timer) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.flush()
    }, this.#intervalMs)
    this.#timer.unref()
  }

  /** flush writes what is pending; failures drop the batch. */
  async flush(): Promise<void> {
    // as the heartbeat: never the command that opens a lazy connection
    if (this.#client.status !== 'ready') return
    const events = this.#pending
    this.#pending = []
    if (events.length === 0) return
    const client = this.#client
    const fields = events.flatMap(feedEntry)
    await lazily(client, () => APPEND.run(client, [this.#key], [FEED_MAX_LENGTH, ...fields])).catch(() => {})
  }

  async close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    await this.flush()
  }
}

/** NO_FEED is the publisher of standalone mode without Redis. */
export const NO_FEED: FeedPublisher = { publish() {}, close: async () => {} }
