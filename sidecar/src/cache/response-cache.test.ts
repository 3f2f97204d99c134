import { type CompiledCache, keys } from '@tollgate/api'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { privateRedis, stackRedis } from '../../../test/support/redis.ts'
import { SteppedClock, uniqueTenant } from '../limits/fixtures.test-support.ts'
import { DataRedis } from '../resilience/redis-client.ts'
import { encodeEntry } from './cache-entry.ts'
import { type CacheRequest, cacheHeaders, ResponseCache } from './response-cache.ts'
import { ResponseRecorder } from './response-recorder.ts'

const settings = (over: Partial<CompiledCache> = {}): CompiledCache => ({
  enabled: true,
  ttlSeconds: 3600,
  maxEntryBytes: 1024 * 1024,
  streaming: true,
  generation: 0,
  ...over,
})

const body = (content: string, extra: Record<string, unknown> = {}) =>
  Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content }], ...extra }))

const request = (tenant: string, over: Partial<CacheRequest> = {}): CacheRequest => ({
  tenant,
  cache: settings(),
  provider: 'openai',
  method: 'POST',
  route: '/v1/chat/completions',
  headers: {},
  body: body('hi'),
  stream: false,
  ...over,
})

const answer = (text: string) => ({
  status: 200,
  headers: { 'content-type': 'application/json', 'x-request-id': 'req_1' },
  body: { kind: 'buffer' as const, data: Buffer.from(JSON.stringify({ text })) },
})

/** miss looks a request up and returns the key to store under, failing on anything but a miss. */
async function miss(cache: ResponseCache, req: CacheRequest): Promise<string> {
  const lookup = await cache.lookup(req)
  if (lookup.status !== 'miss' || !lookup.key)
    throw new Error(`expected a miss with a key, got ${lookup.status}`)
  return lookup.key
}

describe('ResponseCache in memory', () => {
  it('answers a lookup that fails (its key cannot be made) with a miss that stores nothing', async () => {
    const errors: string[] = []
    const cache = new ResponseCache({ onError: (step) => errors.push(step) })
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const lookup = await cache.lookup({ ...request(uniqueTenant()), json: cyclic })
    expect(lookup).toEqual({ status: 'miss', key: undefined, onlyIfCached: false })
    expect(errors).toEqual(['look up cache entry'])
  })

  it('answers a repeated request from memory with the stored headers and its age', async () => {
    const clock = new SteppedClock('2026-11-23T10:00:00Z')
    const cache = new ResponseCache({ clock: clock.read })
    const tenant = uniqueTenant()
    const key = await miss(cache, request(tenant))
    expect(await cache.store(key, request(tenant), answer('hello'))).toBe(true)
    clock.advance(42_500)
    const hit = await cache.lookup(request(tenant))
    expect(hit.status === 'hit' && hit.source).toBe('memory')
    expect(cacheHeaders(hit)).toEqual({
      'content-type': 'application/json',
      age: '42',
      'x-tollgate-cache': 'hit',
    })
  })

  it('never serves one tenant the entry of another for an identical request', async () => {
    const cache = new ResponseCache()
    const [a, b] = [uniqueTenant('a'), uniqueTenant('b')]
    await cache.store(await miss(cache, request(a)), request(a), answer('for a'))
    const lookup = await cache.lookup(request(b))
    expect(lookup.status).toBe('miss')
    expect(lookup.status === 'miss' && lookup.key?.startsWith(keys.tenantPrefix(b))).toBe(true)
  })

  it.each([
    ['caching disabled', { cache: settings({ enabled: false }) }, 'disabled'],
    ['a GET', { method: 'GET' }, 'method'],
    [
      'a stream when streaming is off',
      { stream: true, cache: settings({ streaming: false }) },
      'streaming-disabled',
    ],
    ['cache-control: no-store', { headers: { 'cache-control': 'no-store' } }, 'no-store'],
  ] as const)('bypasses for %s', async (_, over, reason) => {
    const cache = new ResponseCache()
    expect(await cache.lookup(request(uniqueTenant(), over as Partial<CacheRequest>))).toEqual({
      status: 'bypass',
      reason,
    })
  })

  it('honours no-cache (ask again, store the new answer) and max-age (not older than asked)', async () => {
    const clock = new SteppedClock('2026-11-23T10:00:00Z')
    const cache = new ResponseCache({ clock: clock.read })
    const tenant = uniqueTenant()
    await cache.store(await miss(cache, request(tenant)), request(tenant), answer('old'))
    clock.advance(120_000)
    const refresh = request(tenant, { headers: { 'cache-control': 'no-cache' } })
    await cache.store(await miss(cache, refresh), refresh, answer('new'))
    clock.advance(30_000)
    const young = await cache.lookup(request(tenant, { headers: { 'cache-control': 'max-age=20' } }))
    expect(young.status).toBe('miss')
    const old = await cache.lookup(request(tenant, { headers: { 'cache-control': 'max-age=30' } }))
    expect(old.status === 'hit' && old.entry.body).toEqual(answer('new').body)
  })

  it('expires entries after the TTL and stops serving older cache generations', async () => {
    const clock = new SteppedClock('2026-11-23T10:00:00Z')
    const cache = new ResponseCache({ clock: clock.read })
    const tenant = uniqueTenant()
    const req = request(tenant, { cache: settings({ ttlSeconds: 60 }) })
    await cache.store(await miss(cache, req), req, answer('x'))
    expect((await cache.lookup(request(tenant, { cache: settings({ generation: 1 }) }))).status).toBe('miss')
    clock.advance(59_999)
    expect((await cache.lookup(req)).status).toBe('hit')
    clock.advance(1)
    expect((await cache.lookup(req)).status).toBe('miss')
  })

  it('does not store answers over maxEntryBytes, errors, or no-store answers', async () => {
    const cache = new ResponseCache()
    const tenant = uniqueTenant()
    const req = request(tenant, { cache: settings({ maxEntryBytes: 10 }) })
    const key = await miss(cache, req)
    expect(await cache.store(key, req, answer('far more than ten bytes'))).toBe(false)
    expect(await cache.store(key, request(tenant), { ...answer('x'), status: 500 })).toBe(false)
    const noStore = { ...answer('x'), headers: { 'cache-control': 'no-store' } }
    expect(await cache.store(key, request(tenant), noStore)).toBe(false)
    expect((await cache.lookup(request(tenant))).status).toBe('miss')
  })

  it('keeps the memory LRU within its byte bound, evicting the least recently used', async () => {
    const cache = new ResponseCache({ memoryMaxBytes: 20_000 })
    const tenant = uniqueTenant()
    const big = (i: number) => ({
      ...answer(''),
      body: { kind: 'buffer' as const, data: Buffer.alloc(3_000, i) },
    })
    for (let i = 0; i < 20; i++) {
      const req = request(tenant, { body: body(`q${i}`) })
      await cache.store(await miss(cache, req), req, big(i))
      expect(cache.memoryBytes).toBeLessThanOrEqual(20_000)
    }
    expect(cache.memoryBytes).toBeGreaterThan(15_000)
    expect((await cache.lookup(request(tenant, { body: body('q0') }))).status).toBe('miss')
    expect((await cache.lookup(request(tenant, { body: body('q19') }))).status).toBe('hit')
  })
})

describe('ResponseCache with Redis', () => {
  const redis = new DataRedis({ url: inject('stack').redisUrl, mode: inject('stack').redisMode })
  beforeAll(() => redis.waitUntilUp(5_000))
  afterAll(() => redis.close())

  it('replays a streamed answer from Redis with identical bytes and chunk boundaries', async () => {
    const tenant = uniqueTenant()
    const writer = new ResponseCache({ redis: redis.client })
    const req = request(tenant, { stream: true, body: body('stream me', { stream: true }) })
    const key = await miss(writer, req)
    const sent = [
      'data: {"choices":[{"delta":{"role":"assistant"}}]}\n\n',
      'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\ndata: {"choices":[{"delta":{"content":"lo"}}]}\n\n',
      'data: {"choices":[{"delta":{"content":" ✓"}}]}\n\n',
      'data: [DONE]\n\n',
    ].map((s) => Buffer.from(s))
    const recorder = new ResponseRecorder(req.cache.maxEntryBytes)
    for (const chunk of sent) recorder.write(chunk)
    const stored = await writer.store(key, req, {
      status: 200,
      headers: { 'content-type': 'text/event-stream' },
      body: recorder.body('sse') ?? { kind: 'sse', chunks: [] },
    })
    expect(stored).toBe(true)

    // another sidecar: empty memory, same Redis
    const reader = new ResponseCache({ redis: redis.client })
    const hit = await reader.lookup(req)
    if (hit.status !== 'hit') throw new Error(`expected a hit, got ${hit.status}`)
    expect(hit.source).toBe('redis')
    expect(hit.entry.body.kind).toBe('sse')
    expect(hit.entry.body.kind === 'sse' && hit.entry.body.chunks).toEqual(sent)
    const again = await reader.lookup(req)
    expect(again.status === 'hit' && again.source).toBe('memory')
    expect(await redis.client.pttl(key)).toBeGreaterThan(3_590_000)
  })

  it('refuses an entry whose recorded tenant is not the reader, even under the reader’s key', async () => {
    const [victim, attacker] = [uniqueTenant('victim'), uniqueTenant('attacker')]
    const errors: string[] = []
    const cache = new ResponseCache({ redis: redis.client, onError: (step) => errors.push(step) })
    const key = await miss(cache, request(victim))
    // an entry of the attacker planted under the victim's key is never served to the victim
    const forged = {
      tenant: attacker,
      storedAt: Date.now(),
      expiresAt: Date.now() + 60_000,
      status: 200,
      headers: {},
    }
    await redis.client.set(
      key,
      encodeEntry({ ...forged, body: { kind: 'buffer', data: Buffer.from('evil') } }),
    )
    expect((await cache.lookup(request(victim))).status).toBe('miss')
    expect(errors).toEqual(['read cache entry'])
  })

  it('without a memory layer (memoryMaxBytes 0) serves every hit from Redis', async () => {
    const tenant = uniqueTenant()
    const cache = new ResponseCache({ redis: redis.client, memoryMaxBytes: 0 })
    await cache.store(await miss(cache, request(tenant)), request(tenant), answer('x'))
    for (let i = 0; i < 2; i++) {
      const hit = await cache.lookup(request(tenant))
      expect(hit.status === 'hit' && hit.source).toBe('redis')
    }
    expect(cache.memoryBytes).toBe(0)
  })

  it('keeps a new answer in Redis and takes it into memory once it is asked for again', async () => {
    const tenant = uniqueTenant()
    const cache = new ResponseCache({ redis: redis.client })
    const key = await miss(cache, request(tenant))
    const storing = cache.store(key, request(tenant), answer('x'))
    // on its way to Redis, the answer is served at once
    const early = await cache.lookup(request(tenant))
    expect(early.status === 'hit' && early.source).toBe('memory')
    expect(await storing).toBe(true)
    expect(cache.memoryBytes).toBe(0)
    const again = await cache.lookup(request(tenant))
    expect(again.status === 'hit' && again.source).toBe('redis')
    expect(cache.memoryBytes).toBeGreaterThan(0)
    const third = await cache.lookup(request(tenant))
    expect(third.status === 'hit' && third.source).toBe('memory')
  })

  it('writes the entries a tenant stores together in one Redis call, each with its TTL', async () => {
    const server = await privateRedis()
    const own = new DataRedis({ url: server.url })
    const admin = stackRedis(server.adminUrl, 'single')
    await own.waitUntilUp(5_000)
    const cache = new ResponseCache({ redis: own.client })
    const tenant = uniqueTenant()
    const storeAll = async (prefix: string, n: number) => {
      const reqs = Array.from({ length: n }, (_, i) => request(tenant, { body: body(`${prefix}${i}`) }))
      const keys = await Promise.all(reqs.map((req) => miss(cache, req)))
      await Promise.all(keys.map((key, i) => cache.store(key, reqs[i] as CacheRequest, answer(`a${i}`))))
      return keys
    }
    await storeAll('warm', 1) // loads the script (EVALSHA answers NOSCRIPT, then EVAL)
    await admin.config('RESETSTAT')
    const keys = await storeAll('q', 10)
    const stats = await admin.info('commandstats')
    const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0)
    expect([calls('evalsha'), calls('set')]).toEqual([1, 10])
    for (const key of keys) expect(await own.client.pttl(key)).toBeGreaterThan(3_590_000)
    admin.disconnect()
    await own.close()
    await server.close()
  })

  it('treats Redis errors as misses and still caches in memory', async () => {
    const server = await privateRedis()
    const down = new DataRedis({ url: server.url })
    await down.waitUntilUp(5_000)
    await server.close()
    const errors: string[] = []
    const cache = new ResponseCache({ redis: down.client, onError: (step) => errors.push(step) })
    const tenant = uniqueTenant()
    const key = await miss(cache, request(tenant))
    expect(await cache.store(key, request(tenant), answer('x'))).toBe(true)
    expect((await cache.lookup(request(tenant))).status).toBe('hit')
    expect(errors.length).toBeGreaterThan(0)
    await down.close()
  })
})
