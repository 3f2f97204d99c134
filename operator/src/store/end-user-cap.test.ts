import { USAGE_COUNTERS, type UsageCounter } from '@tollgate/api'
import { describe, expect, it } from 'vitest'
import type { UsageRow } from '../redis/usage-counters.ts'
import { capEndUsers } from './end-user-cap.ts'

const counters = (requests: number) =>
  Object.fromEntries(USAGE_COUNTERS.map((c) => [c, c === 'requests' ? requests : 0])) as Record<
    UsageCounter,
    number
  >
const row = (user: string, requests = 1, instance = 'i1'): UsageRow => ({
  provider: 'openai',
  model: 'gpt-4o',
  namespace: 'prod',
  workload: 'deployment/app',
  user,
  instance,
  counters: counters(requests),
})
const users = (rows: UsageRow[]) => rows.map((r) => [r.user, r.counters.requests]).sort()

describe('capEndUsers', () => {
  it.each([
    [
      'under the cap: every user kept',
      [row('a'), row('b')],
      [],
      3,
      [
        ['a', 1],
        ['b', 1],
      ],
    ],
    [
      'over the cap: new users in name order, the rest merged as other',
      [row('c', 2), row('a'), row('b', 3)],
      [],
      2,
      [
        ['a', 1],
        ['b', 3],
        ['other', 2],
      ],
    ],
    [
      'users the ledger holds keep their rows first',
      [row('a'), row('z', 4)],
      ['z'],
      1,
      [
        ['other', 1],
        ['z', 4],
      ],
    ],
    ['no user is no user, whatever the cap', [row(''), row('a')], [], 0, [['', 2]]],
    [
      'a user named other is counted as other',
      [row('other', 2), row('a')],
      [],
      5,
      [
        ['a', 1],
        ['other', 2],
      ],
    ],
  ] as const)('%s', (_, rows, known, cap, expected) => {
    expect(users(capEndUsers([...rows], new Set(known), cap))).toEqual(expected)
  })

  it('keeps instances apart when it merges users into other', () => {
    const out = capEndUsers([row('a', 1, 'i1'), row('b', 1, 'i1'), row('c', 1, 'i2')], new Set(), 1)
    expect(out.map((r) => [r.user, r.instance, r.counters.requests]).sort()).toEqual([
      ['a', 'i1', 1],
      ['other', 'i1', 1],
      ['other', 'i2', 1],
    ])
  })
})
