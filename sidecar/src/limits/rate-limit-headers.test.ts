import { describe, expect, it } from 'vitest'
import { formatReset, rateLimitHeaders } from './rate-limit-headers.ts'

describe('formatReset', () => {
  it.each([
    [0, '0ms'],
    [20, '20ms'],
    [999, '999ms'],
    [1_000, '1s'],
    [1_500, '1.5s'],
    [59_932, '59.932s'],
    [360_000, '6m0s'],
    [61_250, '1m1.25s'],
    [3_723_000, '1h2m3s'],
    [-5, '0ms'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatReset(ms)).toBe(text)
  })
})

describe('rateLimitHeaders', () => {
  it('renders the OpenAI header families that apply', () => {
    const now = Date.parse('2026-11-23T10:00:30Z')
    const headers = rateLimitHeaders(
      {
        requests: { limit: 100, remaining: 99, resetAt: now + 30_000 },
        tokens: { limit: 50_000, remaining: 48_000, resetAt: now + 30_000 },
      },
      now,
    )
    expect(headers).toEqual({
      'x-ratelimit-limit-requests': '100',
      'x-ratelimit-remaining-requests': '99',
      'x-ratelimit-reset-requests': '30s',
      'x-ratelimit-limit-tokens': '50000',
      'x-ratelimit-remaining-tokens': '48000',
      'x-ratelimit-reset-tokens': '30s',
    })
    expect(rateLimitHeaders({}, now)).toEqual({})
  })
})
