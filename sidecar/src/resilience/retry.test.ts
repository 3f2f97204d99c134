import type { CompiledRetry } from '@tollgate/api'
import { describe, expect, it } from 'vitest'
import { backoffDelay } from './backoff.ts'
import { classifyStatus } from './outcome.ts'
import { parseRetryAfter } from './retry-after.ts'
import { RetryPolicy } from './retry-policy.ts'

const NOW = Date.parse('2026-11-23T10:00:00Z')

describe('backoffDelay (full jitter)', () => {
  it.each([
    // retry, random, expected: floor(random × (min(max, base × 2^retry) + 1))
    [0, 0, 0],
    [0, 0.999_999, 200],
    [1, 0.999_999, 400],
    [2, 0.5, 400],
    [4, 0.999_999, 3_200],
    [5, 0.999_999, 5_000],
    [30, 0.999_999, 5_000],
    [1_000, 0.999_999, 5_000],
  ])('retry %d with random %d waits %d ms', (retry, random, expected) => {
    expect(backoffDelay(retry, 200, 5_000, () => random)).toBe(expected)
  })

  it('stays within [0, min(max, base × 2^retry)] for any random draw', () => {
    for (let retry = 0; retry < 12; retry++) {
      const ceiling = Math.min(5_000, 200 * 2 ** retry)
      for (const r of [0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999_999_999]) {
        const d = backoffDelay(retry, 200, 5_000, () => r)
        expect(d).toBeGreaterThanOrEqual(0)
        expect(d).toBeLessThanOrEqual(ceiling)
      }
    }
  })
})

describe('parseRetryAfter', () => {
  it.each([
    [{ 'retry-after': '7' }, 7_000],
    [{ 'retry-after': '0.5' }, 500],
    [{ 'retry-after': 'Mon, 23 Nov 2026 10:00:30 GMT' }, 30_000],
    [{ 'retry-after': 'Mon, 23 Nov 2026 09:59:00 GMT' }, 0],
    [{ 'retry-after-ms': '1234.2', 'retry-after': '60' }, 1_235],
    [{ 'retry-after': ['3', '9'] }, 3_000],
    [{ 'retry-after': 'soon' }, undefined],
    [{ 'retry-after': '-1' }, undefined],
    [{}, undefined],
  ])('%j → %s ms', (headers, ms) => {
    expect(parseRetryAfter(headers, NOW)).toBe(ms)
  })
})

describe('classifyStatus', () => {
  it.each([
    [200, 'success'],
    [400, 'success'],
    [404, 'success'],
    [429, '429'],
    [500, '5xx'],
    [503, '5xx'],
  ])('%d is %s', (status, kind) => {
    expect(classifyStatus(status)).toBe(kind)
  })
})

describe('RetryPolicy', () => {
  const config: CompiledRetry = {
    attempts: 2,
    baseMs: 200,
    maxMs: 5_000,
    on: ['429', '5xx', 'connect'],
    respectRetryAfter: true,
  }
  const policy = (over: Partial<CompiledRetry> = {}) =>
    new RetryPolicy({ ...config, ...over }, { random: () => 0.5, clock: () => NOW })

  it.each([
    ['a 5xx, first retry', { retriesDone: 0, outcome: '5xx' }, { retry: true, delayMs: 100 }],
    ['a connect error, second retry', { retriesDone: 1, outcome: 'connect' }, { retry: true, delayMs: 200 }],
    ['beyond attempts', { retriesDone: 2, outcome: '5xx' }, { retry: false, reason: 'attempts-exhausted' }],
    [
      'a timeout not in `on`',
      { retriesDone: 0, outcome: 'timeout' },
      { retry: false, reason: 'not-retryable' },
    ],
    ['a success', { retriesDone: 0, outcome: 'success' }, { retry: false, reason: 'not-retryable' }],
    ['an aborted client', { retriesDone: 0, outcome: 'aborted' }, { retry: false, reason: 'not-retryable' }],
    [
      'anything once a byte reached the client',
      { retriesDone: 0, outcome: '5xx', responseStarted: true },
      { retry: false, reason: 'response-started' },
    ],
    [
      'a 429 asking for 2 s: waits 2 s, not the shorter backoff',
      { retriesDone: 0, outcome: '429', headers: { 'retry-after': '2' } },
      { retry: true, delayMs: 2_000 },
    ],
    [
      'a 429 asking for less than the backoff: waits the backoff',
      { retriesDone: 0, outcome: '429', headers: { 'retry-after-ms': '10' } },
      { retry: true, delayMs: 100 },
    ],
    [
      'a 429 asking for longer than max: passes the answer on',
      { retriesDone: 0, outcome: '429', headers: { 'retry-after': '60' } },
      { retry: false, reason: 'retry-after-too-long' },
    ],
  ] as const)('%s', (_, context, decision) => {
    expect(policy().decide({ responseStarted: false, ...context })).toEqual(decision)
  })

  it('ignores Retry-After when respectRetryAfter is off', () => {
    const d = policy({ respectRetryAfter: false }).decide({
      retriesDone: 0,
      outcome: '429',
      headers: { 'retry-after': '60' },
      responseStarted: false,
    })
    expect(d).toEqual({ retry: true, delayMs: 100 })
  })

  it('never retries with attempts: 0', () => {
    expect(
      policy({ attempts: 0 }).decide({ retriesDone: 0, outcome: '5xx', responseStarted: false }),
    ).toEqual({
      retry: false,
      reason: 'attempts-exhausted',
    })
  })
})
