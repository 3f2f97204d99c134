import type { Charged } from './limiter.ts'
import { releaseInMemory, renewInMemory, reserveInMemory, settleInMemory } from './memory-executor.ts'
import { MemoryStore } from './memory-store.ts'
import type { ScriptPlan } from './plan.ts'
import { type PlanExecutor, PlanLimiter, type PlanLimiterOptions, type Slot } from './plan-limiter.ts'

class MemoryExecutor implements PlanExecutor {
  readonly backend = 'memory'
  #store: MemoryStore

  constructor(store: MemoryStore) {
    this.#store = store
  }

  async reserve(keys: readonly string[], plan: ScriptPlan, now: number) {
    return reserveInMemory(this.#store, keys, plan, now)
  }

  async settle(charged: Charged, deltas: { tokens: number; spend: number }, id: string, now: number) {
    settleInMemory(this.#store, charged, deltas, id, now)
  }

  async renew(slots: readonly Slot[], leaseMs: number, now: number) {
    renewInMemory(this.#store, slots, leaseMs, now)
  }

  async release(slots: readonly Slot[], now: number) {
    releaseInMemory(this.#store, slots, now)
  }
}

/**
 * MemoryLimiter enforces limits within one process with the semantics of RedisLimiter (same
 * plan, same rule, all-or-nothing): standalone mode, and the failureMode=open fallback when Redis
 * is unreachable, where each replica then enforces the full limit on its own.
 */
export class MemoryLimiter extends PlanLimiter {
  constructor(options: PlanLimiterOptions & { store?: MemoryStore } = {}) {
    super(new MemoryExecutor(options.store ?? new MemoryStore()), { ...options, overrideNow: false })
  }
}
