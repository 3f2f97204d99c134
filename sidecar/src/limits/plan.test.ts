import { keys } from '@tollgate/api'
import { BudgetCalendar } from '@tollgate/api/budget-calendar.ts'
import { describe, expect, it } from 'vitest'
import { call, compile } from './fixtures.test-support.ts'
import { buildPlan } from './plan.ts'

const NOW = Date.parse('2026-11-23T10:00:30Z')
const plan = (config: ReturnType<typeof compile>, over = {}) =>
  buildPlan(call(config, over), {
    id: 'r1',
    now: NOW,
    overrideNow: false,
    leaseMs: 60_000,
    calendar: new BudgetCalendar(),
  })

describe('buildPlan', () => {
  it('scopes each check by where its limit came from and what it matches', () => {
    const config = compile(
      'acme',
      { tier: 'free' },
      {
        'gpt4-limits': {
          limits: [{ name: 'gpt4', match: { models: ['gpt-4o*'] }, tokensPerMinute: 50_000 }],
        },
        'per-provider': { limits: [{ name: 'oa', match: { providers: ['openai'] }, concurrency: 3 }] },
        other: { limits: [{ name: 'claude', match: { models: ['claude-*'] }, requestsPerMinute: 5 }] },
      },
    )
    expect(plan(config).checks.map((c) => c.scope)).toEqual([
      'requestsPerMinute of tier free',
      'tokensPerMinute of tier free',
      'tokensPerDay of tier free',
      'concurrency of tier free',
      'tokensPerMinute of limit gpt4 in policy gpt4-limits for model gpt-4o',
      'concurrency of limit oa in policy per-provider for provider openai',
    ])
  })

  it('passes three candidate counters per window and period, the sidecar’s current one in the middle', () => {
    const config = compile('acme', {
      limits: { tokensPerMinute: 10 },
      budgets: [{ period: 'month', limitUSD: '1', timezone: 'Europe/Berlin' }],
    })
    const p = plan(config)
    const minute = Date.parse('2026-11-23T10:00:00Z') / 1000
    expect(p.keys).toEqual([
      keys.window('acme', 'tenant', 'tpm', minute - 60),
      keys.window('acme', 'tenant', 'tpm', minute),
      keys.window('acme', 'tenant', 'tpm', minute + 60),
      keys.spend('acme', 'month', '2026-10'),
      keys.spend('acme', 'month', '2026-11'),
      keys.spend('acme', 'month', '2026-12'),
    ])
    expect(p.script.checks[1]?.b).toEqual([
      Date.parse('2026-09-30T22:00:00Z'),
      Date.parse('2026-10-31T23:00:00Z'),
      Date.parse('2026-11-30T23:00:00Z'),
      Date.parse('2026-12-31T23:00:00Z'),
    ])
    expect(p.script.now).toBeUndefined()
  })

  it('marks shadow policies and carries the injected time when asked to', () => {
    const config = compile(
      'acme',
      {},
      { trial: { shadow: true, limits: [{ name: 'x', requestsPerMinute: 1 }] } },
    )
    const p = buildPlan(call(config), {
      id: 'r1',
      now: NOW,
      overrideNow: true,
      leaseMs: 1,
      calendar: new BudgetCalendar(),
    })
    expect(p.script.now).toBe(NOW)
    expect(p.script.checks.map((c) => c.x)).toEqual([1])
    expect(p.checks[0]?.shadow).toBe(true)
  })
})
