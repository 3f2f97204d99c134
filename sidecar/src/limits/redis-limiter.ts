import type { RedisClient } from '../config/redis-client.ts'
import { LimiterUnavailableError } from './errors.ts'
import { type LeaseExecutor, LeaseLimiter, type LeaseLimiterOptions } from './lease-limiter.ts'
import { encodeLeaseCall, type LeaseCall, parseLeaseReply } from './lease-script.ts'
import { LuaScript } from './lua-script.ts'

const LEASE = LuaScript.fromFile(new URL('./lease.lua', import.meta.url))

/** RedisLeaseExecutor runs lease.lua: one round trip for all of a tenant's limits and budgets. */
export class RedisLeaseExecutor implements LeaseExecutor {
  #redis: RedisClient

  constructor(redis: RedisClient) {
    this.#redis = redis
  }

  async lease(call: LeaseCall) {
    const { keys, argv } = encodeLeaseCall(call)
    let raw: unknown
    try {
      raw = await LEASE.run(this.#redis, keys, argv)
    } catch (cause) {
      throw new LimiterUnavailableError('run lease script', { cause })
    }
    return parseLeaseReply(raw, call)
  }
}

/**
 * RedisLimiter enforces limits shared by every sidecar of a tenant: each sidecar leases slices of
 * every limit and budget from Redis (lease.lua, with the Redis server's time) and admits calls
 * locally against them (LeaseLimiter; docs/limits.md). Errors surface as LimiterUnavailableError
 * (fast, since the client has no offline queue) so the caller can apply the policy's failureMode.
 */
export class RedisLimiter extends LeaseLimiter {
  constructor(options: LeaseLimiterOptions & { redis: RedisClient; executor?: LeaseExecutor }) {
    super(options.executor ?? new RedisLeaseExecutor(options.redis), options)
  }
}
