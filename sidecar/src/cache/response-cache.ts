import type { CompiledCache } from '@tollgate/api'
import { keys } from '@tollgate/api/redis-keys.ts'
import { LRUCache } from 'lru-cache'
import type { RedisClient } from '../config/redis-client.ts'
import type { Clock } from '../limits/clock.ts'
import { isStorableResponse, requestDirective } from './cache-control.ts'
import {
  bodyBytes,
  type CacheBody,
  type CacheEntry,
  decodeEntry,
  encodeEntry,
  entrySize,
  pickHeaders,
} from './cache-entry.ts'
import { type CacheKeyInput, cacheDigest } from './cache-key.ts'
import { RedisEntryWriter } from './redis-entry-writer.ts'

/** DEFAULT_MEMORY_BYTES bounds the in-process LRU of one sidecar. */
export const DEFAULT_MEMORY_BYTES = 64 * 1024 * 1024

/** CacheRequest is a request as the cache stage sees it. */
export interface CacheRequest extends Omit<CacheKeyInput, 'generation'> {
  cache: CompiledCache
  /** The request asks for a streamed answer (`stream: true`). */
  stream: boolean
}

/** CacheLookup is the outcome of a lookup; `x-tollgate-cache` is its status. */
export type CacheLookup =
  | { status: 'hit'; entry: CacheEntry; ageSeconds: number; source: 'memory' | 'redis' }
  /**
   * Ask the provider; store the answer under `key` afterwards (unless onlyIfCached: answer 504).
   * A lookup that failed (its key could not be made) is a miss with no key: nothing is stored.
   */
  | { status: 'miss'; key: string | undefined; onlyIfCached: boolean }
  | { status: 'bypass'; reason: 'disabled' | 'method' | 'streaming-disabled' | 'no-store' }

/** CachedResponse is what the stage hands to store() once the answer went to the client. */
export interface CachedResponse {
  status: number
  headers: Readonly<Record<string, string | string[] | number | undefined>>
  body: CacheBody
  /** What the call cost, kept so that a hit can say what it saved. */
  costNano?: number
}

export interface ResponseCacheOptions {
  /** Shared second level; absent in standalone mode. */
  redis?: RedisClient
  /** While false, Redis is not asked (DataRedis.isUp); a down Redis costs nothing. */
  isRedisUp?: () => boolean
  /** Bound of the memory LRU in bytes; 0 turns the memory layer off. Default 64 MiB. */
  memoryMaxBytes?: number
  clock?: Clock
  /** Told of every swallowed Redis or format error, for logs and metrics. */
  onError?: (step: string, error: unknown) => void
}

/**
 * ResponseCache is an exact-match response cache, private per tenant: a memory LRU bounded by
 * bytes in front of Redis (`keys.cache(tenant, generation, digest)`), entries expiring after the
 * tenant's TTL. With Redis, a new answer goes to Redis and memory holds what was asked for again
 * (read back from Redis), as nginx's `proxy_cache_min_uses 2` would; without Redis, or when the
 * write fails, memory holds every answer. It is best effort: a Redis error is reported to
 * onError and turns into a miss or a skipped write, never into a failed request. Isolation is
 * twofold: the tenant is in the key (hash-tagged, and in the digest), and every entry records
 * its tenant and is refused to any other on read.
 */
export class ResponseCache {
  /** Absent when memoryMaxBytes is 0: every hit then comes from Redis. */
  #memory: LRUCache<string, CacheEntry> | undefined
  #redis: RedisClient | undefined
  #writer: RedisEntryWriter | undefined
  /** Entries on their way to Redis, served from here until the write is acknowledged. */
  #unwritten = new Map<string, CacheEntry>()
  #isRedisUp: () => boolean
  #clock: Clock
  #onError: (step: string, error: unknown) => void

  constructor(options: ResponseCacheOptions = {}) {
    const maxSize = options.memoryMaxBytes ?? DEFAULT_MEMORY_BYTES
    this.#memory =
      maxSize > 0 ? new LRUCache<string, CacheEntry>({ maxSize, sizeCalculation: entrySize }) : undefined
    this.#redis = options.redis
    this.#isRedisUp = options.isRedisUp ?? (() => true)
    this.#clock = options.clock ?? Date.now
    const onError = options.onError ?? (() => {})
    this.#onError = onError
    if (options.redis)
      this.#writer = new RedisEntryWriter(options.redis, (error) =>
        onError('store cache entry in Redis', error),
      )
  }

  /** memoryBytes is the LRU's current size by entrySize, for the metric and tests. */
  get memoryBytes(): number {
    return this.#memory?.calculatedSize ?? 0
  }

  /** lookup never rejects: a failure (reported to onError) is a miss with nothing to store. */
  async lookup(request: CacheRequest): Promise<CacheLookup> {
    try {
      return await this.#lookup(request)
    } catch (error) {
      this.#onError('look up cache entry', error)
      return { status: 'miss', key: undefined, onlyIfCached: false }
    }
  }

  async #lookup(request: CacheRequest): Promise<CacheLookup> {
    if (!request.cache.enabled) return { status: 'bypass', reason: 'disabled' }
    if (request.method.toUpperCase() !== 'POST') return { status: 'bypass', reason: 'method' }
    if (request.stream && !request.cache.streaming) return { status: 'bypass', reason: 'streaming-disabled' }
    const directive = requestDirective(request.headers)
    if (directive.mode === 'bypass') return { status: 'bypass', reason: 'no-store' }
    const key = keys.cache(
      request.tenant,
      request.cache.generation,
      cacheDigest({ ...request, generation: request.cache.generation }),
    )
    if (directive.mode === 'refresh') return { status: 'miss', key, onlyIfCached: false }

    const now = this.#clock()
    const fresh = (entry: CacheEntry) => {
      const ageSeconds = Math.max(0, Math.floor((now - entry.storedAt) / 1000))
      const young = directive.maxAgeSeconds === undefined || ageSeconds <= directive.maxAgeSeconds
      return young ? ageSeconds : undefined
    }

    const local = this.#memory?.get(key) ?? this.#unwritten.get(key)
    if (local) {
      if (this.#usable(local, request.tenant, now)) {
        const ageSeconds = fresh(local)
        if (ageSeconds !== undefined) return { status: 'hit', entry: local, ageSeconds, source: 'memory' }
      } else {
        this.#memory?.delete(key)
      }
    }

    const shared = await this.#readRedis(key)
    if (shared && this.#usable(shared, request.tenant, now)) {
      this.#remember(key, shared, now)
      const ageSeconds = fresh(shared)
      if (ageSeconds !== undefined) return { status: 'hit', entry: shared, ageSeconds, source: 'redis' }
    }
    return { status: 'miss', key, onlyIfCached: directive.onlyIfCached }
  }

  /**
   * store keeps an answer under the key of a miss: in Redis within a few milliseconds, in one
   * write with the tenant's other new entries (RedisEntryWriter), or in memory when there is no
   * Redis or the write failed (await it or not). Returns false when the answer is not stored:
   * not a 200, `no-store`, over maxEntryBytes, caching disabled, or a failure (reported to
   * onError): like lookup, it never rejects.
   */
  async store(
    key: string,
    request: { tenant: string; cache: CompiledCache },
    response: CachedResponse,
  ): Promise<boolean> {
    try {
      return await this.#store(key, request, response)
    } catch (error) {
      this.#onError('store cache entry', error)
      return false
    }
  }

  async #store(
    key: string,
    request: { tenant: string; cache: CompiledCache },
    response: CachedResponse,
  ): Promise<boolean> {
    const { cache, tenant } = request
    if (!cache.enabled || cache.ttlSeconds <= 0) return false
    if (!isStorableResponse(response.status, response.headers)) return false
    if (bodyBytes(response.body) > cache.maxEntryBytes) return false
    const now = this.#clock()
    const entry: CacheEntry = {
      tenant,
      storedAt: now,
      expiresAt: now + cache.ttlSeconds * 1000,
      status: response.status,
      headers: pickHeaders(response.headers),
      body: response.body,
      ...(response.costNano !== undefined && { costNano: response.costNano }),
    }
    // With Redis, memory takes an entry once it is read back (#lookup): most answers are never
    // asked for again, and each would push a repeated one out of the LRU and churn the heap.
    let written = false
    if (this.#writer && this.#isRedisUp()) {
      this.#unwritten.set(key, entry)
      try {
        written = await this.#writer.write(tenant, key, encodeEntry(entry), cache.ttlSeconds * 1000)
      } finally {
        if (this.#unwritten.get(key) === entry) this.#unwritten.delete(key)
      }
    }
    if (!written) this.#remember(key, entry, now)
    return true
  }

  #usable(entry: CacheEntry, tenant: string, now: number): boolean {
    if (entry.tenant !== tenant) {
      this.#onError('read cache entry', new Error(`entry of tenant ${entry.tenant} refused to ${tenant}`))
      return false
    }
    return now < entry.expiresAt
  }

  #remember(key: string, entry: CacheEntry, now: number) {
    this.#memory?.set(key, entry, { ttl: Math.max(1, entry.expiresAt - now) })
  }

  async #readRedis(key: string): Promise<CacheEntry | undefined> {
    if (!this.#redis || !this.#isRedisUp()) return undefined
    let data: Buffer | null
    try {
      data = await this.#redis.getBuffer(key)
    } catch (error) {
      this.#onError('read cache entry from Redis', error)
      return undefined
    }
    if (!data) return undefined
    try {
      return decodeEntry(data)
    } catch (error) {
      this.#onError('decode cache entry', error)
      return undefined
    }
  }
}

/**
 * cacheHeaders are the headers a response carries for a lookup: `x-tollgate-cache` always, and
 * for a hit the stored headers plus `age`.
 */
export function cacheHeaders(lookup: CacheLookup): Record<string, string> {
  if (lookup.status !== 'hit') return { 'x-tollgate-cache': lookup.status }
  return { ...lookup.entry.headers, age: String(lookup.ageSeconds), 'x-tollgate-cache': 'hit' }
}
