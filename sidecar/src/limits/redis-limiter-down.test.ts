import { describe, expect, it } from 'vitest'
import { privateRedis } from '../../../test/support/redis.ts'
import { DataRedis } from '../resilience/redis-client.ts'
import { LimiterUnavailableError } from './errors.ts'
import { FailoverLimiter } from './failover-limiter.ts'
import { call, compile, uniqueTenant } from './fixtures.test-support.ts'
import { MemoryLimiter } from './memory-limiter.ts'
import { RedisLimiter } from './redis-limiter.ts'

// A Redis of this file's own that goes away and comes back (a single node: the cluster's
// failover is test/redis-cluster/failover.test.ts).
describe('RedisLimiter without Redis', () => {
  it('fails fast with LimiterUnavailableError when Redis is down, so the caller can fall back', async () => {
    const temp = await privateRedis()
    const redis = new DataRedis({ url: temp.url })
    await redis.waitUntilUp(5_000)
    await temp.stop()
    const config = compile(uniqueTenant(), { limits: { requestsPerMinute: 5 } })
    const limiter = new RedisLimiter({ redis: redis.client })
    const error = await limiter.reserve(call(config)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LimiterUnavailableError)
    expect((error as LimiterUnavailableError).code).toBe('TOLLGATE_ERR_LIMITER_UNAVAILABLE')
    expect(redis.isUp()).toBe(false)

    const failover = (failureMode: 'open' | 'closed') =>
      new FailoverLimiter({ primary: limiter, fallback: new MemoryLimiter() }).reserve(
        call({ ...config, failureMode }),
      )
    const open = await failover('open')
    expect(open.ok && open.backend).toBe('memory')
    const closed = await failover('closed')
    expect(closed.ok ? undefined : [closed.status, closed.code]).toEqual([
      503,
      'TOLLGATE_ERR_LIMITER_UNAVAILABLE',
    ])

    // recovery needs no restart: the same connection comes back with the server
    await temp.start()
    await redis.waitUntilUp(10_000)
    const back = await new FailoverLimiter({
      primary: limiter,
      fallback: new MemoryLimiter(),
      isPrimaryUp: () => redis.isUp(),
    }).reserve(call(config))
    expect(back.ok && back.backend).toBe('redis')
    await redis.close()
    await temp.close()
  })
})
