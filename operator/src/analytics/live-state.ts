import {
  FEED_MAX_LENGTH,
  type FeedEvent,
  feedEntry,
  HEARTBEAT_STALE_MS,
  keys,
  parseFeedEntry,
  type SidecarHeartbeat,
} from '@tollgate/api'
import type { RedisClient } from '../redis/redis-client.ts'

/** FeedItem is one feed entry with its stream id. */
export interface FeedItem {
  id: string
  event: FeedEvent
}

type StreamEntries = [id: string, fields: string[]][]

/**
 * LiveState reads what sidecars report to Redis: the tenants' feeds (keys.feed) and heartbeats
 * (keys.heartbeats). Each call is one command on one tenant's keys, so it works alike on one node
 * and on a cluster (a tenant's keys share its slot).
 */
export class LiveState {
  readonly #redis: RedisClient
  constructor(redis: RedisClient) {
    this.#redis = redis
  }

  /** after lists a feed's entries after `id` ('-' for all), oldest first, at most `count`. */
  async after(tenant: string, id: string, count = 200): Promise<FeedItem[]> {
    const start = id === '-' ? '-' : `(${id}`
    const entries = (await this.#redis.xrange(keys.feed(tenant), start, '+', 'COUNT', count)) as StreamEntries
    return items(entries)
  }

  /** latest lists a feed's newest `count` entries, newest first. */
  async latest(tenant: string, count = 50): Promise<FeedItem[]> {
    const entries = (await this.#redis.xrevrange(
      keys.feed(tenant),
      '+',
      '-',
      'COUNT',
      count,
    )) as StreamEntries
    return items(entries)
  }

  /** lastId is the id of a feed's newest entry, '0-0' for an empty feed. */
  async lastId(tenant: string): Promise<string> {
    const [newest] = await this.latest(tenant, 1)
    return newest?.id ?? '0-0'
  }

  /** append adds an event of the operator's (a budget crossing) to a tenant's feed. */
  async append(tenant: string, event: FeedEvent): Promise<void> {
    await this.#redis.xadd(keys.feed(tenant), 'MAXLEN', '~', FEED_MAX_LENGTH, '*', ...feedEntry(event))
  }

  /**
   * heartbeats are the live sidecars of a tenant (heartbeat within HEARTBEAT_STALE_MS), by
   * instance; stale ones are deleted.
   */
  async heartbeats(tenant: string, now = Date.now()): Promise<SidecarHeartbeat[]> {
    const hash = await this.#redis.hgetall(keys.heartbeats(tenant))
    const live: SidecarHeartbeat[] = []
    const stale: string[] = []
    for (const [instance, raw] of Object.entries(hash)) {
      let beat: SidecarHeartbeat | undefined
      try {
        beat = JSON.parse(raw) as SidecarHeartbeat
      } catch {
        beat = undefined
      }
      if (!beat || typeof beat.at !== 'number' || now - beat.at > HEARTBEAT_STALE_MS) stale.push(instance)
      else live.push(beat)
    }
    if (stale.length > 0) await this.#redis.hdel(keys.heartbeats(tenant), ...stale)
    return live.sort((a, b) => a.instance.localeCompare(b.instance))
  }
}

function items(entries: StreamEntries): FeedItem[] {
  return entries.flatMap(([id, fields]) => {
    const event = parseFeedEntry(fields)
    return event ? [{ id, event }] : []
  })
}
