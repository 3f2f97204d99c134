import { describe, expect, it } from 'vitest'
import { call, compile, SteppedClock, uniqueTenant } from './fixtures.test-support.ts'
import { limiterContract } from './limiter-contract.test-support.ts'
import { MemoryLimiter } from './memory-limiter.ts'
import { MemoryStore } from './memory-store.ts'

limiterContract('MemoryLimiter', (clock) => {
  const store = new MemoryStore()
  const limiter = new MemoryLimiter({ clock: clock.read, store })
  return {
    limiter,
    count: async (key) => store.get(key, clock.now) ?? store.zRemoveUpToAndCount(key, clock.now, clock.now),
  }
})

describe('MemoryLimiter', () => {
  it('frees the slot of a reservation never settled once its lease ends', async () => {
    const clock = new SteppedClock('2026-11-23T10:00:00Z')
    const limiter = new MemoryLimiter({ clock: clock.read, leaseMs: 30_000 })
    const config = compile(uniqueTenant(), { limits: { concurrency: 1 } })
    expect((await limiter.reserve(call(config))).ok).toBe(true)
    expect((await limiter.reserve(call(config))).ok).toBe(false)
    clock.advance(30_000)
    expect((await limiter.reserve(call(config))).ok).toBe(true)
  })

  it('forgets windows once they and their grace have passed', async () => {
    const clock = new SteppedClock('2026-11-23T10:00:00Z')
    const store = new MemoryStore()
    const limiter = new MemoryLimiter({ clock: clock.read, store })
    const config = compile(uniqueTenant(), { limits: { requestsPerMinute: 10, tokensPerMinute: 1000 } })
    await limiter.reserve(call(config))
    expect(store.size(clock.now)).toBe(2)
    clock.advance(2 * 60_000)
    expect(store.size(clock.now)).toBe(0)
  })
})
