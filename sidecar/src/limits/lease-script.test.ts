import { keys } from '@tollgate/api'
import { BudgetCalendar } from '@tollgate/api/budget-calendar.ts'
import { describe, expect, it } from 'vitest'
import { call, compile } from './fixtures.test-support.ts'
import { encodeLeaseCall, parseLeaseReply } from './lease-script.ts'
import { buildPlan } from './plan.ts'

const NOW = Date.parse('2026-11-23T10:00:30Z')

describe('encodeLeaseCall', () => {
  const config = compile('acme', {
    limits: { tokensPerMinute: 10, concurrency: 2 },
    budgets: [{ period: 'month', limitUSD: '1', timezone: 'Europe/Berlin' }],
  })
  const p = buildPlan(call(config), {
    id: 'r1',
    now: NOW,
    overrideNow: false,
    leaseMs: 60_000,
    calendar: new BudgetCalendar(),
  })
  const checks = p.checks.map((pc, i) => {
    const check = p.script.checks[i] as (typeof p.script.checks)[number]
    const n = check.t === 'c' ? 1 : 3
    return {
      check,
      candidates: p.keys.slice(check.k - 1, check.k - 1 + n),
      leases: pc.leases,
      need: pc.cost,
      want: 7,
      cap: 3,
      mine: i,
      mineCandidate: check.t === 'c' ? -1 : 1,
      inUse: check.t === 'c' ? 1 : 0,
    }
  })
  const minute = Date.parse('2026-11-23T10:00:00Z') / 1000
  const lease = { holder: 'h1', now: undefined, leaseMs: 1000, checks, adjust: new Map([['k:x', -5]]) }

  it('lays out candidates, the lease hash, then the adjusted counters as KEYS', () => {
    const { keys: k } = encodeLeaseCall(lease)
    expect(k).toEqual([
      keys.window('acme', 'tenant', 'tpm', minute - 60),
      keys.window('acme', 'tenant', 'tpm', minute),
      keys.window('acme', 'tenant', 'tpm', minute + 60),
      keys.limitLeases('acme', 'tenant', 'tpm'),
      keys.slots('acme', 'tenant'),
      keys.limitLeases('acme', 'tenant', 'inflight'),
      keys.spend('acme', 'month', '2026-10'),
      keys.spend('acme', 'month', '2026-11'),
      keys.spend('acme', 'month', '2026-12'),
      keys.spendLeases('acme', 'month'),
      'k:x',
    ])
  })

  it('passes 16 fields per check, the holder’s own key as an absolute index, then the adjustments', () => {
    const { argv } = encodeLeaseCall(lease)
    const b = p.script.checks[2]?.b ?? []
    expect(argv).toEqual([
      'h1',
      '',
      '1000',
      '3',
      ...[
        'w',
        '1',
        '10',
        '100',
        '7',
        '3',
        '0',
        '0',
        '2',
        '0',
        '60000',
        '60000',
        String(minute * 1000 - 60_000),
        '0',
        '0',
        '4',
      ],
      ...['c', '5', '2', '1', '7', '3', '1', '1', '0', '0', '60000', '0', '0', '0', '0', '6'],
      ...['p', '7', '1000000000', '1000', '7', '3', '2', '0', '8', '0', '86400000', ...b.map(String), '10'],
      '1',
      '11',
      '-5',
    ])
  })

  it('reads the reply back per check, naming the chosen counter', () => {
    const reply = parseLeaseReply([1, NOW, 2, 4, 99, 3, 2, 0, 5, 1, 0, 0, 1, 2, 9, 10, 0, 1, 1, 0], lease)
    expect(reply.admitted).toBe(true)
    expect(reply.grants.map((g) => [g.key, g.candidate, g.used, g.grant, g.holders, g.held])).toEqual([
      [keys.window('acme', 'tenant', 'tpm', minute), 1, 4, 3, 2, 0],
      [keys.slots('acme', 'tenant'), 0, 1, 0, 1, 2],
      [keys.spend('acme', 'month', '2026-12'), 2, 10, 1, 1, 0],
    ])
    expect(() => parseLeaseReply([1, NOW], lease)).toThrow('unexpected reply')
  })
})
