import { keys } from '@tollgate/api'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { DataRedis } from '../resilience/redis-client.ts'
import { call, compile, SteppedClock, uniqueTenant } from './fixtures.test-support.ts'
import type { Reservation } from './limiter.ts'
import { limiterContract } from './limiter-contract.test-support.ts'
import { RedisLimiter } from './redis-limiter.ts'

const { redisUrl, redisMode } = inject('stack')
const connections: DataRedis[] = []

/** connect opens one more connection, as one more sidecar replica would. */
async function connect(): Promise<DataRedis> {
  const redis = new DataRedis({ url: redisUrl, mode: redisMode })
  connections.push(redis)
  await redis.waitUntilUp(5_000)
  return redis
}

/** heldSlots sums the concurrency slots every sidecar holds (keys.slots: `held:expiresAt` per holder). */
const heldSlots = async (client: DataRedis['client'], key: string) =>
  Object.values(await client.hgetall(key)).reduce((sum, v) => sum + Number(v.split(':')[0]), 0)

afterAll(async () => {
  for (const c of connections) await c.close()
})

limiterContract('RedisLimiter', (clock) => {
  const redis = new DataRedis({ url: redisUrl, mode: redisMode })
  connections.push(redis)
  const ready = redis.waitUntilUp(5_000)
  // The per-call case of leases (fraction 0): counters hold exactly what calls were charged.
  const limiter = new RedisLimiter({ redis: redis.client, clock: clock.read, fraction: 0 })
  return {
    limiter: {
      reserve: async (r) => {
        await ready
        return limiter.reserve(r)
      },
      settle: (r, a) => limiter.settle(r, a),
      release: (r) => limiter.release(r),
    },
    count: async (key) => {
      await ready
      const type = await redis.client.type(key)
      if (type === 'zset') return redis.client.zcount(key, clock.now + 1, '+inf')
      return Number((await redis.client.get(key)) ?? 0)
    },
  }
})

describe('RedisLimiter', () => {
  it('two sidecars (two connections, two limiters) enforce one shared limit', async () => {
    const [a, b] = [await connect(), await connect()]
    const config = compile(uniqueTenant(), { limits: { requestsPerMinute: 10 } })
    const one = new RedisLimiter({ redis: a.client })
    const two = new RedisLimiter({ redis: b.client })
    const results = []
    for (let i = 0; i < 10; i++) results.push(await (i % 2 ? one : two).reserve(call(config)))
    expect(results.every((r) => r.ok)).toBe(true)
    expect((await one.reserve(call(config))).ok).toBe(false)
    expect((await two.reserve(call(config))).ok).toBe(false)
  })

  it(
    '200 concurrent reserves against tokensPerMinute through four leasing limiters admit at most ' +
      'floor(limit / estimate), at least that less the lease cap, and once the leases are returned ' +
      'the counter holds exactly what the admitted calls were charged',
    async () => {
      const clock = new SteppedClock('2026-11-23T10:00:10Z')
      const replicas = await Promise.all([connect(), connect(), connect(), connect()])
      const limiters = replicas.map((r) => new RedisLimiter({ redis: r.client, clock: clock.read }))
      const config = compile(uniqueTenant(), { limits: { tokensPerMinute: 10_000 } })
      const estimate = 137
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          (limiters[i % limiters.length] as RedisLimiter).reserve(
            call(config, { estimatedTokens: estimate }),
          ),
        ),
      )
      const admitted = results.filter((r) => r.ok).length
      expect(admitted).toBeLessThanOrEqual(Math.floor(10_000 / estimate))
      // unused leases (at most 2% of the limit, 200 tokens) may hold back at most that much
      expect(admitted).toBeGreaterThanOrEqual(Math.floor((10_000 - 200) / estimate))
      await Promise.all(limiters.map((l) => l.close()))
      const key = keys.window(config.tenant, 'tenant', 'tpm', Date.parse('2026-11-23T10:00:00Z') / 1000)
      const counted = Number(await replicas[0]?.client.get(key))
      expect(counted).toBe(admitted * estimate)
    },
  )

  it('takes time from the Redis server when no clock is injected', async () => {
    const redis = await connect()
    const config = compile(uniqueTenant(), { limits: { requestsPerMinute: 5 } })
    const r = await new RedisLimiter({ redis: redis.client }).reserve(call(config))
    if (!r.ok) throw new Error(r.message)
    const [seconds] = await redis.client.time()
    const windowStart = Math.floor(Number(seconds) / 60) * 60
    // the script chose the server's current minute (or the previous one, had a minute ended between)
    expect([(windowStart + 60) * 1000, windowStart * 1000]).toContain(r.checks[0]?.resetAt)
    expect(Math.floor(r.at / 60_000) * 60 + 60).toBe((r.checks[0]?.resetAt ?? 0) / 1000)
  })

  it('frees concurrency slots on settle and expires the slots of a crashed sidecar', async () => {
    const clock = new SteppedClock('2026-11-23T10:00:00Z')
    const redis = await connect()
    const config = compile(uniqueTenant(), { limits: { concurrency: 2 } })
    const crashed = new RedisLimiter({ redis: redis.client, clock: clock.read, slotLeaseMs: 60_000 })
    const survivor = new RedisLimiter({ redis: redis.client, clock: clock.read, slotLeaseMs: 60_000 })
    const lost = await crashed.reserve(call(config))
    expect(lost.ok).toBe(true)
    const kept = (await survivor.reserve(call(config))) as Reservation
    expect((await survivor.reserve(call(config))).ok).toBe(false)
    await survivor.settle(kept, { tokens: 10, costNano: 0 })
    const again = (await survivor.reserve(call(config))) as Reservation
    expect(again.ok).toBe(true)
    await survivor.release(again)
    // the crashed sidecar never settles; its slot is taken until its lease ends
    expect(await heldSlots(redis.client, keys.slots(config.tenant, 'tenant'))).toBe(1)
    const two = [await survivor.reserve(call(config)), await survivor.reserve(call(config))]
    expect(two.map((r) => r.ok)).toEqual([true, false])
    clock.advance(60_000)
    expect((await survivor.reserve(call(config))).ok).toBe(true)
  })

  it('loads its script again after SCRIPT FLUSH (EVALSHA falls back to EVAL)', async () => {
    const redis = await connect()
    const config = compile(uniqueTenant(), { limits: { requestsPerMinute: 5 } })
    const limiter = new RedisLimiter({ redis: redis.client })
    expect((await limiter.reserve(call(config))).ok).toBe(true)
    await redis.client.script('FLUSH')
    expect((await limiter.reserve(call(config))).ok).toBe(true)
  })
})
