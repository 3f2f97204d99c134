import { ApiException, type CoordinationV1Api } from '@kubernetes/client-node'
import { pino } from 'pino'
import { describe, expect, it, vi } from 'vitest'
import { isLeaseHeldByOther, LeaderElector, nextLeaseRecord } from './leader-election.ts'
import { formatMicroTime, parseMicroTime } from './micro-time.ts'

describe('MicroTime', () => {
  it('renders exactly six fractional digits, as the API server requires for Leases', () => {
    expect(formatMicroTime(new Date('2026-11-23T16:05:14.123Z'))).toBe('2026-11-23T16:05:14.123000Z')
    expect(formatMicroTime(new Date('2026-11-23T16:05:14Z'))).toBe('2026-11-23T16:05:14.000000Z')
  })

  it('parses MicroTime strings and Dates alike', () => {
    expect(parseMicroTime('2026-11-23T16:05:14.123456Z')).toBe(Date.parse('2026-11-23T16:05:14.123Z'))
    expect(parseMicroTime(new Date(5))).toBe(5)
    expect(parseMicroTime('')).toBeUndefined()
    expect(parseMicroTime('nonsense')).toBeUndefined()
  })
})

describe('lease timing', () => {
  const duration = 15_000
  it.each([
    ['a lease held by another, renewed just now', { holderIdentity: 'b' }, 0, 1_000, true],
    ['a lease held by another, last seen renewed 14.9 s ago', { holderIdentity: 'b' }, 0, 14_900, true],
    [
      'a lease held by another, last seen renewed 15 s ago (expired)',
      { holderIdentity: 'b' },
      0,
      15_000,
      false,
    ],
    ['a lease we hold', { holderIdentity: 'a' }, 0, 1_000, false],
    ['a released lease (empty holder)', { holderIdentity: '' }, 0, 1, false],
  ])('%s: held by other = %s', (_name, record, observedAt, now, held) => {
    expect(isLeaseHeldByOther(record, 'a', observedAt, now, duration)).toBe(held)
  })

  it('keeps acquireTime and transitions while renewing, and counts a takeover', () => {
    const t0 = new Date('2026-11-23T10:00:00.000Z')
    const t1 = new Date('2026-11-23T10:00:02.000Z')
    const mine = nextLeaseRecord(undefined, 'a', t0, duration)
    expect(mine).toEqual({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      acquireTime: '2026-11-23T10:00:00.000000Z',
      renewTime: '2026-11-23T10:00:00.000000Z',
      leaseTransitions: 0,
    })
    const renewed = nextLeaseRecord(mine, 'a', t1, duration)
    expect(renewed.acquireTime).toBe(mine.acquireTime)
    expect(renewed.renewTime).toBe('2026-11-23T10:00:02.000000Z')
    expect(renewed.leaseTransitions).toBe(0)
    const taken = nextLeaseRecord(renewed, 'b', t1, duration)
    expect(taken.holderIdentity).toBe('b')
    expect(taken.acquireTime).toBe('2026-11-23T10:00:02.000000Z')
    expect(taken.leaseTransitions).toBe(1)
  })
})

describe('LeaderElector', () => {
  it('carries on campaigning when a request to the API server never answers', async () => {
    let reads = 0
    const api = {
      // The first read hangs for good; then the Lease does not exist and this replica creates it.
      readNamespacedLease: () => {
        reads++
        return reads === 1
          ? new Promise(() => {})
          : Promise.reject(new ApiException(404, 'not found', {}, {}))
      },
      createNamespacedLease: async () => ({}),
    } as unknown as CoordinationV1Api
    const elector = new LeaderElector({
      api,
      namespace: 'default',
      name: 'stuck',
      identity: 'me',
      leaseDurationMs: 400,
      renewDeadlineMs: 200,
      retryPeriodMs: 50,
      onStartedLeading: () => {},
      onStoppedLeading: () => {},
      logger: pino({ level: 'silent' }),
    })
    elector.start()
    try {
      await vi.waitFor(() => expect(elector.isLeader).toBe(true), { timeout: 2_000 })
      expect(reads).toBeGreaterThan(1)
    } finally {
      await elector.stop()
    }
  })
})
