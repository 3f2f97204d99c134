import type { RedisClient } from '../config/redis-client.ts'
import { lazily } from '../resilience/lazily.ts'
import { parseReply } from './decision.ts'
import { LimiterUnavailableError } from './errors.ts'
import type { Charged } from './limiter.ts'
import { LuaScript } from './lua-script.ts'
import type { ScriptPlan } from './plan.ts'
import { type PlanExecutor, PlanLimiter, type PlanLimiterOptions, type Slot } from './plan-limiter.ts'

const RESERVE = LuaScript.fromFile(new URL('./reserve.lua', import.meta.url))
const SETTLE = LuaScript.fromFile(new URL('./settle.lua', import.meta.url))
const RENEW = LuaScript.fromFile(new URL('./renew.lua', import.meta.url))
const RELEASE = LuaScript.fromFile(new URL('./release.lua', import.meta.url))

/** encodeArgv flattens a plan into reserve.lua's ARGV: id, now, count, then 10 fields per check. */
export function encodeArgv(plan: ScriptPlan): string[] {
  const argv = [plan.id, plan.now === undefined ? '' : String(plan.now), String(plan.checks.length)]
  for (const c of plan.checks) {
    const extra = c.t === 'w' ? [c.w, c.s, 0, 0] : c.t === 'p' ? (c.b ?? []) : [0, 0, 0, 0]
    argv.push(c.t, String(c.k), String(c.l), String(c.c), String(c.x), String(c.g), ...extra.map(String))
  }
  return argv
}

class RedisExecutor implements PlanExecutor {
  readonly backend = 'redis'
  #redis: RedisClient
  #overrideNow: boolean

  constructor(redis: RedisClient, overrideNow: boolean) {
    this.#redis = redis
    this.#overrideNow = overrideNow
  }

  async renew(slots: readonly Slot[], leaseMs: number, now: number) {
    const args = [String(leaseMs), this.#overrideNow ? String(now) : '', ...slots.map((s) => s.id)]
    try {
      await RENEW.run(
        this.#redis,
        slots.map((s) => s.key),
        args,
      )
    } catch (cause) {
      throw new LimiterUnavailableError('run renew script', { cause })
    }
  }

  async release(slots: readonly Slot[]) {
    try {
      await RELEASE.run(
        this.#redis,
        slots.map((s) => s.key),
        slots.map((s) => s.id),
      )
    } catch (cause) {
      throw new LimiterUnavailableError('run release script', { cause })
    }
  }

  async reserve(keys: readonly string[], plan: ScriptPlan) {
    let raw: unknown
    try {
      raw = await RESERVE.run(this.#redis, keys, encodeArgv(plan))
    } catch (cause) {
      throw new LimiterUnavailableError('run reserve script', { cause })
    }
    return parseReply(raw, plan.checks.length)
  }

  async settle(charged: Charged, deltas: { tokens: number; spend: number }, id: string) {
    const keys = [...charged.tokens, ...charged.spend, ...charged.inflight]
    const args = [
      String(deltas.tokens),
      String(deltas.spend),
      id,
      charged.tokens.length,
      charged.spend.length,
    ]
    try {
      // Nobody waits for a settlement: it rides with the next reservation's write.
      await lazily(this.#redis, () => SETTLE.run(this.#redis, keys, args))
    } catch (cause) {
      throw new LimiterUnavailableError('run settle script', { cause })
    }
  }
}

/**
 * RedisLimiter enforces limits shared by every sidecar of a tenant: one reserve.lua call per
 * request checks and charges all applicable limits atomically with the Redis server's time, and
 * one settle.lua call corrects them. Errors surface as LimiterUnavailableError (fast, since the
 * client has no offline queue) so the caller can apply the policy's failureMode.
 */
export class RedisLimiter extends PlanLimiter {
  constructor(options: PlanLimiterOptions & { redis: RedisClient }) {
    super(new RedisExecutor(options.redis, options.clock !== undefined), {
      ...options,
      overrideNow: options.clock !== undefined,
    })
  }
}
