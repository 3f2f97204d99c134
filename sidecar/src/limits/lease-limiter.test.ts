import { keys } from '@tollgate/api'
import { afterAll, describe, expect, inject, it, vi } from 'vitest'
import { DataRedis } from '../resilience/redis-client.ts'
import { LimiterUnavailableError } from './errors.ts'
import { FailoverLimiter } from './failover-limiter.ts'
import { call, compile, uniqueTenant } from './fixtures.test-support.ts'
import type { LeaseCall } from './lease-script.ts'
import type { Reservation } from './limiter.ts'
import { MemoryLimiter } from './memory-limiter.ts'
import { RedisLeaseExecutor, RedisLimiter } from './redis-limiter.ts'

const { redisUrl, redisMode } = inject('stack')
const connections: DataRedis[] = []
const limiters: RedisLimiter[] = []

async function connect(): Promise<DataRedis> {
  const redis = new DataRedis({ url: redisUrl, mode: redisMode })
  connections.push(redis)
  await redis.waitUntilUp(5_000)
  return redis
}

/** sidecar is one more sidecar's limiter on its own connection, counting its calls to Redis. */
async function sidecar(
  options: ConstructorParameters<typeof RedisLimiter>[0] extends infer O ? Partial<O> : never = {},
) {
  const redis = await connect()
  const inner = new RedisLeaseExecutor(redis.client)
  const calls: LeaseCall[] = []
  /** While down, every call to Redis fails as an unreachable Redis's would. */
  const link = { down: false }
  const limiter = new RedisLimiter({
    ...options,
    redis: redis.client,
    executor: {
      lease: (c) => {
        calls.push(c)
        return link.down ? Promise.reject(new LimiterUnavailableError('run lease script')) : inner.lease(c)
      },
    },
  })
  limiters.push(limiter)
  return { limiter, redis, calls, link }
}

/** heldSlots sums the concurrency slots every sidecar holds (keys.slots: `held:expiresAt` per holder). */
const heldSlots = async (client: DataRedis['client'], key: string) =>
  Object.values(await client.hgetall(key)).reduce((sum, v) => sum + Number(v.split(':')[0]), 0)

afterAll(async () => {
  for (const l of limiters) await l.close()
  for (const c of connections) await c.close()
})

const minuteKey = (tenant: string, metric: 'rpm' | 'tpm', at: number) =>
  keys.window(tenant, 'tenant', metric, Math.floor(at / 60_000) * 60)

describe('LeaseLimiter on Redis', () => {
  it('admits most calls locally once it holds a lease, and none past the limit', async () => {
    const config = compile(uniqueTenant(), { limits: { requestsPerMinute: 5_000 } })
    const { limiter, calls } = await sidecar()
    const results = []
    for (let i = 0; i < 200; i++) results.push(await limiter.reserve(call(config)))
    expect(results.every((r) => r.ok)).toBe(true)
    // the cap (2% of 5000 = 100 requests) lets one sidecar go a hundred calls between two asks
    expect(calls.length).toBeLessThan(20)
  })

  it('once a call to Redis fails, admits nothing from its leases until Redis answers again', async () => {
    // tokens: a settled call gives its unused estimate back to the lease while the lease is valid
    const config = compile(uniqueTenant(), { limits: { tokensPerMinute: 1_000_000 } })
    const { limiter, calls, link } = await sidecar()
    const held: Reservation[] = []
    for (let i = 0; i < 20; i++) held.push((await limiter.reserve(call(config))) as Reservation)
    expect(held.every((r) => r.ok)).toBe(true)

    link.down = true
    let admitted = 0
    const drain = async () => {
      for (;;) {
        const r = await limiter.reserve(call(config)).catch(() => undefined)
        if (!r) return
        admitted++
        if (admitted > 1_000) throw new Error('never asked Redis')
      }
    }
    await drain()
    // the lease (at most the cap, 20,000 tokens = 200 calls) is spent, the next call failed in Redis
    expect(admitted).toBeLessThanOrEqual(200)
    // what the held calls did not use would go back into a valid lease
    for (const r of held) await limiter.settle(r, { tokens: 0, costNano: 0 }).catch(() => {})
    for (let i = 0; i < 5; i++) {
      const asked = calls.length
      await expect(limiter.reserve(call(config))).rejects.toThrow(LimiterUnavailableError)
      expect(calls.length).toBeGreaterThan(asked) // asked Redis, not the lease
    }

    link.down = false
    expect((await limiter.reserve(call(config))).ok).toBe(true)
    const asked = calls.length
    expect((await limiter.reserve(call(config))).ok).toBe(true) // from a lease again
    expect(calls.length).toBe(asked)
  })

  it('once a call is refused because Redis is down, no lease admits one until Redis answers again', async () => {
    // A cluster master dies: the client reports Redis down (FailoverLimiter refuses at once), then
    // up again once it forgot the dead node, while the tenant's slot still has no master.
    const config = compile(uniqueTenant(), {
      budgets: [{ period: 'day', limitUSD: '1000', timezone: 'UTC' }],
    })
    const { limiter, calls, link } = await sidecar()
    const up = { value: true }
    const failover = new FailoverLimiter({
      primary: limiter,
      fallback: new MemoryLimiter(),
      isPrimaryUp: () => up.value,
    })
    const outcome = async () => {
      const r = await failover.reserve(call(config))
      return r.ok ? 'admitted' : r.code
    }
    for (let i = 0; i < 20; i++) expect(await outcome()).toBe('admitted')
    const asked = calls.length
    expect(await outcome()).toBe('admitted') // from the lease
    expect(calls.length).toBe(asked)

    up.value = false
    link.down = true
    expect(await outcome()).toBe('TOLLGATE_ERR_LIMITER_UNAVAILABLE')
    up.value = true
    expect(await outcome()).toBe('TOLLGATE_ERR_LIMITER_UNAVAILABLE')
    expect(calls.length).toBe(asked + 1) // asked Redis, not the lease

    link.down = false
    expect(await outcome()).toBe('admitted')
  })

  it('with fraction 0 asks Redis for every call (the per-call case of the same mechanism)', async () => {
    const config = compile(uniqueTenant(), { limits: { requestsPerMinute: 5_000 } })
    const { limiter, calls } = await sidecar({ fraction: 0 })
    for (let i = 0; i < 20; i++) expect((await limiter.reserve(call(config))).ok).toBe(true)
    expect(calls.length).toBe(20)
    expect(calls.every((c) => c.checks.every((lc) => lc.cap === 0))).toBe(true)
  })

  it('keeps the unused leases of all sidecars on a limit within the cap, and returns them on close', async () => {
    const tenant = uniqueTenant()
    const config = compile(tenant, { limits: { requestsPerMinute: 1_000 } })
    const fleet = await Promise.all([sidecar(), sidecar(), sidecar(), sidecar()])
    await Promise.all(
      fleet.flatMap(({ limiter }) => Array.from({ length: 50 }, () => limiter.reserve(call(config)))),
    )
    const { redis } = fleet[0] as Awaited<ReturnType<typeof sidecar>>
    const hash = await redis.client.hgetall(keys.limitLeases(tenant, 'tenant', 'rpm'))
    const unused = Object.values(hash).reduce((sum, v) => sum + Number(v.split(':')[0]), 0)
    expect(unused).toBeLessThanOrEqual(20)
    const key = minuteKey(tenant, 'rpm', Date.now())
    expect(Number(await redis.client.get(key))).toBeLessThanOrEqual(200 + 20)
    await Promise.all(fleet.map(({ limiter }) => limiter.close()))
    expect(Number(await redis.client.get(key))).toBe(200)
    expect(await redis.client.hlen(keys.limitLeases(tenant, 'tenant', 'rpm'))).toBe(0)
  })

  it('a lowered limit applies at once on the sidecars that have it: admitted after the change ≤ the old cap', async () => {
    const tenant = uniqueTenant()
    const before = compile(tenant, { limits: { requestsPerMinute: 1_000 } })
    const after = compile(tenant, { limits: { requestsPerMinute: 100 } })
    const fleet = await Promise.all([sidecar(), sidecar(), sidecar()])
    const admitted = (rs: { ok: boolean }[]) => rs.filter((r) => r.ok).length
    const first = await Promise.all(
      fleet.flatMap(({ limiter }) => Array.from({ length: 100 }, () => limiter.reserve(call(before)))),
    )
    expect(admitted(first)).toBe(300)
    // the policy change: every sidecar now plans with the new config; within a second (bounded
    // wait) every one of them refuses, and what they admitted meanwhile is within the old cap
    const later: { ok: boolean }[] = []
    await vi.waitFor(
      async () => {
        const round = await Promise.all(fleet.map(({ limiter }) => limiter.reserve(call(after))))
        later.push(...round)
        expect(round.every((r) => !r.ok)).toBe(true)
      },
      { timeout: 1_000, interval: 10 },
    )
    expect(admitted(later)).toBeLessThanOrEqual(Math.floor(1_000 * 0.02))
    const refused = later.at(-1) as Exclude<Awaited<ReturnType<RedisLimiter['reserve']>>, Reservation>
    expect(refused.tripped).toMatchObject({ kind: 'requestsPerMinute', limit: 100 })
  })

  it('a sidecar that dies with leases out loses them until its window ends, no more', async () => {
    const tenant = uniqueTenant()
    const config = compile(tenant, { limits: { requestsPerMinute: 500 } })
    const dead = await sidecar()
    const alive = await sidecar()
    for (let i = 0; i < 50; i++) expect((await dead.limiter.reserve(call(config))).ok).toBe(true)
    const hash = await dead.redis.client.hgetall(keys.limitLeases(tenant, 'tenant', 'rpm'))
    const lost = Object.values(hash).reduce((sum, v) => sum + Number(v.split(':')[0]), 0)
    // it dies: no close, no return; its lease stays charged
    await dead.redis.close()
    const results = []
    for (let i = 0; i < 500; i++) results.push(await alive.limiter.reserve(call(config)))
    const more = results.filter((r) => r.ok).length
    // what it had recorded bounds what it had left unused when it died: lost for the window, no more
    expect(lost).toBeLessThanOrEqual(10)
    expect(50 + more).toBeLessThanOrEqual(500)
    expect(50 + more).toBeGreaterThanOrEqual(500 - lost)
  })

  it('concurrency: settles return the slots, and a closed sidecar holds no spare one', async () => {
    const tenant = uniqueTenant()
    const config = compile(tenant, { limits: { concurrency: 3 } })
    const a = await sidecar()
    const b = await sidecar()
    const held = [await a.limiter.reserve(call(config)), await b.limiter.reserve(call(config))]
    expect((await a.limiter.reserve(call(config))).ok).toBe(true)
    expect((await b.limiter.reserve(call(config))).ok).toBe(false)
    await a.limiter.settle(held[0] as Reservation, { tokens: 1, costNano: 1 })
    const third = await b.limiter.reserve(call(config))
    expect(third.ok).toBe(true)
    await b.limiter.release(third as Reservation)
    await b.limiter.release(held[1] as Reservation)
    // a's second call is still in flight: its slot stays until settled (or its lease ends)
    expect(await heldSlots(a.redis.client, keys.slots(tenant, 'tenant'))).toBe(1)
    await a.limiter.close()
    await b.limiter.close()
    // closed, both gave back their spare slots; the call in flight keeps its own
    expect(await heldSlots(a.redis.client, keys.slots(tenant, 'tenant'))).toBe(1)
    expect(await a.redis.client.hlen(keys.limitLeases(tenant, 'tenant', 'inflight'))).toBe(0)
  })

  it('settlements of many calls go to Redis in a few batched calls', async () => {
    const tenant = uniqueTenant()
    const config = compile(tenant, { limits: { tokensPerMinute: 1_000_000 } })
    const { limiter, calls, redis } = await sidecar()
    const rs = (await Promise.all(
      Array.from({ length: 100 }, () => limiter.reserve(call(config, { estimatedTokens: 100 }))),
    )) as Reservation[]
    const asked = calls.length
    await Promise.all(rs.map((r) => limiter.settle(r, { tokens: 40, costNano: 0 })))
    expect(calls.length - asked).toBeLessThanOrEqual(2)
    await limiter.close()
    expect(Number(await redis.client.get(minuteKey(tenant, 'tpm', Date.now())))).toBe(100 * 40)
  })
})
