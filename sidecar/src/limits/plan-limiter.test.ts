import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { LimiterUnavailableError } from './errors.ts'
import { call, compile, uniqueTenant } from './fixtures.test-support.ts'
import type { Charged } from './limiter.ts'
import { releaseInMemory, renewInMemory, reserveInMemory, settleInMemory } from './memory-executor.ts'
import { MemoryStore } from './memory-store.ts'
import type { ScriptPlan } from './plan.ts'
import { type PlanExecutor, PlanLimiter, type Slot } from './plan-limiter.ts'

/** FlakyExecutor is the in-memory executor whose store can be made unreachable. */
class FlakyExecutor implements PlanExecutor {
  readonly backend = 'memory' as const
  readonly store = new MemoryStore()
  down = false
  #check(step: string) {
    if (this.down) throw new LimiterUnavailableError(step)
  }
  async reserve(keys: readonly string[], plan: ScriptPlan, now: number) {
    this.#check('reserve')
    return reserveInMemory(this.store, keys, plan, now)
  }
  async settle(charged: Charged, deltas: { tokens: number; spend: number }, id: string, now: number) {
    this.#check('settle')
    settleInMemory(this.store, charged, deltas, id, now)
  }
  async renew(slots: readonly Slot[], leaseMs: number, now: number) {
    this.#check('renew')
    renewInMemory(this.store, slots, leaseMs, now)
  }
  async release(slots: readonly Slot[], now: number) {
    this.#check('release')
    releaseInMemory(this.store, slots, now)
  }
}

const oneSlot = () => call(compile(uniqueTenant(), { limits: { concurrency: 1 } }))

describe('PlanLimiter concurrency leases', () => {
  it('renews the lease of a call in flight for as long as it runs', async () => {
    const executor = new FlakyExecutor()
    const limiter = new PlanLimiter(executor, { leaseMs: 300, overrideNow: false })
    const request = oneSlot()
    const held = await limiter.reserve(request)
    if (!held.ok) throw new Error('expected a reservation')
    await sleep(1_000) // more than three leases
    expect((await limiter.reserve(request)).ok).toBe(false)
    await limiter.settle(held, { tokens: 0, costNano: 0 })
    expect((await limiter.reserve(request)).ok).toBe(true)
  })

  it('frees a slot whose settle could not reach the store as soon as the store answers again', async () => {
    const executor = new FlakyExecutor()
    // a lease far longer than the test: only the release can free the slot in time
    const limiter = new PlanLimiter(executor, { leaseMs: 60_000, overrideNow: false })
    const request = oneSlot()
    const held = await limiter.reserve(request)
    if (!held.ok) throw new Error('expected a reservation')
    executor.down = true
    await expect(limiter.settle(held, { tokens: 0, costNano: 0 })).rejects.toBeInstanceOf(
      LimiterUnavailableError,
    )
    await sleep(1_500) // ticks while the store is away change nothing
    executor.down = false
    expect((await limiter.reserve(request)).ok).toBe(false)
    const back = Date.now()
    await expect
      .poll(async () => (await limiter.reserve(request)).ok, { timeout: 5_000, interval: 100 })
      .toBe(true)
    expect(Date.now() - back).toBeLessThan(2_000)
  })
})
