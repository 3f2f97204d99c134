import { keys } from '@tollgate/api'
import { describe, expect, it } from 'vitest'
import { call, compile, SteppedClock, uniqueTenant } from './fixtures.test-support.ts'
import type { Limiter, Rejection, Reservation } from './limiter.ts'

/** A limiter under test, built on an injected clock; `count` reads a counter from its store. */
export interface LimiterUnderTest {
  limiter: Limiter
  count: (key: string) => Promise<number>
}

const admitted = (r: Reservation | Rejection): Reservation => {
  if (!r.ok) throw new Error(`expected admission, got: ${r.message}`)
  return r
}
const rejected = (r: Reservation | Rejection): Rejection => {
  if (r.ok) throw new Error('expected rejection, got admission')
  return r
}

/**
 * limiterContract is the behaviour every Limiter shares, run against MemoryLimiter and
 * RedisLimiter alike so the standalone/fallback limiter cannot drift from the shared one.
 */
export function limiterContract(name: string, make: (clock: SteppedClock) => LimiterUnderTest) {
  describe(`${name} (limiter contract)`, () => {
    it('admits requestsPerMinute up to the limit, then rejects until the minute ends', async () => {
      const clock = new SteppedClock('2026-11-23T10:00:15Z')
      const { limiter } = make(clock)
      const config = compile(uniqueTenant(), { limits: { requestsPerMinute: 3 } })
      for (let i = 0; i < 3; i++) admitted(await limiter.reserve(call(config)))
      const no = rejected(await limiter.reserve(call(config)))
      expect(no.status).toBe(429)
      expect(no.code).toBe('TOLLGATE_ERR_QUOTA_EXCEEDED')
      expect(no.tripped?.kind).toBe('requestsPerMinute')
      expect(no.scope).toBe(`requestsPerMinute of tenant ${config.tenant}`)
      expect(no.retryAfterSeconds).toBe(45)
      expect(no.rateLimit.requests).toEqual({
        limit: 3,
        remaining: 0,
        resetAt: Date.parse('2026-11-23T10:01:00Z'),
      })
      clock.set('2026-11-23T10:01:00Z')
      expect((await limiter.reserve(call(config))).ok).toBe(true)
    })

    it('charges estimated tokens and settle replaces them with the real count', async () => {
      const clock = new SteppedClock('2026-11-23T10:00:00Z')
      const { limiter, count } = make(clock)
      const config = compile(uniqueTenant(), { limits: { tokensPerMinute: 1000 } })
      const first = admitted(await limiter.reserve(call(config, { estimatedTokens: 400 })))
      admitted(await limiter.reserve(call(config, { estimatedTokens: 400 })))
      const no = rejected(await limiter.reserve(call(config, { estimatedTokens: 400 })))
      expect(no.tripped).toMatchObject({ kind: 'tokensPerMinute', used: 800, cost: 400, remaining: 200 })
      const key = keys.window(config.tenant, 'tenant', 'tpm', Date.parse('2026-11-23T10:00:00Z') / 1000)
      expect(first.charged.tokens).toContain(key)
      expect(await count(key)).toBe(800)
      await limiter.settle(first, { tokens: 100, costNano: 0 })
      expect(await count(key)).toBe(500)
      // settling twice changes nothing
      await limiter.settle(first, { tokens: 100, costNano: 0 })
      expect(await count(key)).toBe(500)
      const third = admitted(await limiter.reserve(call(config, { estimatedTokens: 400 })))
      expect(third.rateLimit.tokens).toMatchObject({ limit: 1000, remaining: 100 })
    })

    it('reserves every applicable limit or none of them', async () => {
      const clock = new SteppedClock('2026-11-23T10:00:00Z')
      const { limiter, count } = make(clock)
      const config = compile(
        uniqueTenant(),
        { limits: { requestsPerMinute: 100 } },
        { small: { limits: [{ name: 'gpt4', match: { models: ['gpt-4o*'] }, tokensPerMinute: 500 }] } },
      )
      const no = rejected(await limiter.reserve(call(config, { estimatedTokens: 600 })))
      expect(no.scope).toBe('tokensPerMinute of limit gpt4 in policy small for model gpt-4o')
      expect(no.message).toContain('more than the limit allows at all')
      const rpm = keys.window(config.tenant, 'tenant', 'rpm', Date.parse('2026-11-23T10:00:00Z') / 1000)
      expect(await count(rpm)).toBe(0)
      // the policy's match selects the call: another model is not limited by it
      admitted(await limiter.reserve(call(config, { model: 'claude-sonnet-4-5', estimatedTokens: 600 })))
      expect(await count(rpm)).toBe(1)
    })

    it('names the limit that frees last when several trip', async () => {
      const clock = new SteppedClock('2026-11-23T10:00:30Z')
      const { limiter } = make(clock)
      const config = compile(uniqueTenant(), { limits: { requestsPerMinute: 1, tokensPerDay: 150 } })
      admitted(await limiter.reserve(call(config)))
      const no = rejected(await limiter.reserve(call(config)))
      expect(no.tripped?.kind).toBe('tokensPerDay')
      expect(no.retryAfterSeconds).toBe(14 * 3600 - 30)
    })

    it('holds concurrency slots until settle or release', async () => {
      const clock = new SteppedClock('2026-11-23T10:00:00Z')
      const { limiter } = make(clock)
      const config = compile(uniqueTenant(), { limits: { concurrency: 2 } })
      const a = admitted(await limiter.reserve(call(config)))
      const b = admitted(await limiter.reserve(call(config)))
      const no = rejected(await limiter.reserve(call(config)))
      expect(no.tripped).toMatchObject({ kind: 'concurrency', used: 2, limit: 2 })
      expect(no.retryAfterSeconds).toBe(1)
      await limiter.release(a)
      const c = admitted(await limiter.reserve(call(config)))
      await limiter.settle(b, { tokens: 50, costNano: 10 })
      await limiter.settle(c, { tokens: 50, costNano: 10 })
      for (let i = 0; i < 2; i++) admitted(await limiter.reserve(call(config)))
    })

    it('release refunds tokens and money but the request stays counted', async () => {
      const clock = new SteppedClock('2026-11-23T10:00:00Z')
      const { limiter, count } = make(clock)
      const config = compile(uniqueTenant(), {
        limits: { requestsPerMinute: 10, tokensPerMinute: 10_000 },
        budgets: [{ period: 'day', limitUSD: '1' }],
      })
      const r = admitted(
        await limiter.reserve(call(config, { estimatedTokens: 300, estimatedCostNano: 5_000 })),
      )
      await limiter.release(r)
      const start = Date.parse('2026-11-23T10:00:00Z') / 1000
      expect(await count(keys.window(config.tenant, 'tenant', 'rpm', start))).toBe(1)
      expect(await count(keys.window(config.tenant, 'tenant', 'tpm', start))).toBe(0)
      expect(await count(keys.spend(config.tenant, 'day', '2026-11-23'))).toBe(0)
    })

    it('charges budgets in the calendar period of their zone and rolls over at local midnight', async () => {
      // 22:59:59 UTC on 28 March is 23:59:59 in Berlin; the next second is a new local day.
      const clock = new SteppedClock('2026-03-28T22:59:59Z')
      const { limiter, count } = make(clock)
      const config = compile(uniqueTenant(), {
        budgets: [{ period: 'day', limitUSD: '0.000010', timezone: 'Europe/Berlin' }],
      })
      const a = admitted(await limiter.reserve(call(config, { estimatedCostNano: 6_000 })))
      expect(a.charged.spend).toEqual([keys.spend(config.tenant, 'day', '2026-03-28')])
      const no = rejected(await limiter.reserve(call(config, { estimatedCostNano: 6_000 })))
      expect(no.code).toBe('TOLLGATE_ERR_BUDGET_EXCEEDED')
      expect(no.scope).toBe(`day budget of tenant ${config.tenant} ($0.00001 in Europe/Berlin)`)
      expect(no.retryAfterSeconds).toBe(1)
      clock.advance(1_000)
      const b = admitted(await limiter.reserve(call(config, { estimatedCostNano: 6_000 })))
      expect(b.charged.spend).toEqual([keys.spend(config.tenant, 'day', '2026-03-29')])
      await limiter.settle(b, { tokens: 100, costNano: 2_500 })
      expect(await count(keys.spend(config.tenant, 'day', '2026-03-29'))).toBe(2_500)
      expect(await count(keys.spend(config.tenant, 'day', '2026-03-28'))).toBe(6_000)
      // the day after the spring-forward night is 23 hours long: next reset at 22:00 UTC
      const c = rejected(await limiter.reserve(call(config, { estimatedCostNano: 9_000 })))
      expect(c.tripped?.resetAt).toBe(Date.parse('2026-03-29T22:00:00Z'))
    })

    it('rolls a monthly budget over at the first of the month in New York', async () => {
      const clock = new SteppedClock('2026-11-01T03:59:59.500Z') // 23:59:59.5 on 31 October, EDT
      const { limiter } = make(clock)
      const config = compile(uniqueTenant(), {
        budgets: [{ period: 'month', limitUSD: '0.000001', timezone: 'America/New_York' }],
      })
      admitted(await limiter.reserve(call(config, { estimatedCostNano: 1_000 })))
      rejected(await limiter.reserve(call(config, { estimatedCostNano: 1 })))
      clock.advance(500)
      const next = admitted(await limiter.reserve(call(config, { estimatedCostNano: 1_000 })))
      expect(next.charged.spend).toEqual([keys.spend(config.tenant, 'month', '2026-11')])
    })

    it('rejects at once while the operator marks a budget exhausted', async () => {
      const clock = new SteppedClock('2026-11-23T10:00:00Z')
      const { limiter } = make(clock)
      const config = compile(uniqueTenant(), { budgets: [{ period: 'day', limitUSD: '5' }] })
      config.budgets[0] = {
        ...(config.budgets[0] as (typeof config.budgets)[0]),
        exhaustedUntil: '2026-11-24T00:00:00Z',
      }
      const no = rejected(await limiter.reserve(call(config)))
      expect(no.code).toBe('TOLLGATE_ERR_BUDGET_EXCEEDED')
      expect(no.retryAfterSeconds).toBe(14 * 3600)
      clock.set('2026-11-24T00:00:00Z')
      admitted(await limiter.reserve(call(config)))
    })

    it('counts shadow limits and reports them, but never rejects by them', async () => {
      const clock = new SteppedClock('2026-11-23T10:00:00Z')
      const { limiter, count } = make(clock)
      const config = compile(
        uniqueTenant(),
        {},
        { trial: { shadow: true, limits: [{ name: 'tight', requestsPerMinute: 1 }] } },
      )
      const a = admitted(await limiter.reserve(call(config)))
      expect(a.shadowTripped).toEqual([])
      const b = admitted(await limiter.reserve(call(config)))
      expect(b.shadowTripped).toHaveLength(1)
      expect(b.shadowTripped[0]).toMatchObject({
        kind: 'requestsPerMinute',
        id: 'policy.trial.tight',
        used: 1,
      })
      expect(b.rateLimit.requests).toBeUndefined()
      const key = keys.window(
        config.tenant,
        'policy.trial.tight',
        'rpm',
        Date.parse('2026-11-23T10:00:00Z') / 1000,
      )
      expect(await count(key)).toBe(2)
    })

    it('admits without counters when nothing applies', async () => {
      const clock = new SteppedClock('2026-11-23T10:00:00Z')
      const { limiter } = make(clock)
      const config = compile(uniqueTenant(), {})
      const r = admitted(await limiter.reserve(call(config)))
      expect(r.checks).toEqual([])
      await limiter.settle(r, { tokens: 5, costNano: 5 })
    })
  })
}
