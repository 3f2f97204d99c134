import { describe, expect, it } from 'vitest'
import { backoffDelay } from './backoff.ts'

describe('backoffDelay', () => {
  it.each([
    [0, 100],
    [1, 200],
    [2, 400],
    [5, 3_200],
    [6, 5_000],
    [1_000, 5_000],
  ])('attempt %i waits %i ms', (attempt, expected) => {
    expect(backoffDelay(attempt, { baseMs: 100, maxMs: 5_000 })).toBe(expected)
  })

  it('adds jitter within the fraction and never past the cap', () => {
    expect(backoffDelay(0, { baseMs: 100, maxMs: 5_000, jitter: 0.5 }, () => 1)).toBe(150)
    expect(backoffDelay(0, { baseMs: 100, maxMs: 5_000, jitter: 0.5 }, () => 0)).toBe(100)
    expect(backoffDelay(10, { baseMs: 100, maxMs: 5_000, jitter: 0.5 }, () => 1)).toBe(5_000)
  })
})
