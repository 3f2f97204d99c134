import { describe, expect, it } from 'vitest'
import { ledgerRange, periodBounds } from './periods.ts'

describe('periodBounds', () => {
  it.each([
    [
      'day',
      'UTC',
      '2026-11-23T15:30:00Z',
      '2026-11-23T00:00:00.000Z',
      '2026-11-24T00:00:00.000Z',
      '2026-11-23',
    ],
    [
      'day',
      'Europe/Berlin',
      '2026-11-23T23:30:00Z',
      '2026-11-23T23:00:00.000Z',
      '2026-11-24T23:00:00.000Z',
      '2026-11-24',
    ],
    [
      'day',
      'America/New_York',
      '2026-03-08T12:00:00Z',
      '2026-03-08T05:00:00.000Z',
      '2026-03-09T04:00:00.000Z',
      '2026-03-08',
    ],
    [
      'day',
      'Asia/Kolkata',
      '2026-11-23T20:00:00Z',
      '2026-11-23T18:30:00.000Z',
      '2026-11-24T18:30:00.000Z',
      '2026-11-24',
    ],
    [
      'day',
      'Asia/Kathmandu',
      '2026-11-23T12:00:00Z',
      '2026-11-22T18:15:00.000Z',
      '2026-11-23T18:15:00.000Z',
      '2026-11-23',
    ],
    // Santiago skips from 00:00 to 01:00 on the first Sunday of September: the day starts at 01:00.
    [
      'day',
      'America/Santiago',
      '2026-09-06T12:00:00Z',
      '2026-09-06T04:00:00.000Z',
      '2026-09-07T03:00:00.000Z',
      '2026-09-06',
    ],
    [
      'month',
      'UTC',
      '2026-12-31T23:59:59Z',
      '2026-12-01T00:00:00.000Z',
      '2027-01-01T00:00:00.000Z',
      '2026-12',
    ],
    [
      'month',
      'Europe/Berlin',
      '2026-03-31T22:30:00Z',
      '2026-03-31T22:00:00.000Z',
      '2026-04-30T22:00:00.000Z',
      '2026-04',
    ],
  ] as const)('%s in %s at %s starts %s, resets %s', (period, zone, at, start, end, label) => {
    const b = periodBounds(period, zone, new Date(at))
    expect(b.start.toISOString()).toBe(start)
    expect(b.end.toISOString()).toBe(end)
    expect(b.label).toBe(label)
  })
})

describe('ledgerRange', () => {
  it('rounds both ends down to the UTC hour for zones with half-hour offsets', () => {
    const range = ledgerRange(periodBounds('day', 'Asia/Kolkata', new Date('2026-11-23T20:00:00Z')))
    expect(range.from.toISOString()).toBe('2026-11-23T18:00:00.000Z')
    expect(range.to.toISOString()).toBe('2026-11-24T18:00:00.000Z')
  })

  it('keeps whole-hour boundaries as they are', () => {
    const range = ledgerRange(periodBounds('day', 'Europe/Berlin', new Date('2026-11-23T12:00:00Z')))
    expect(range.from.toISOString()).toBe('2026-11-22T23:00:00.000Z')
    expect(range.to.toISOString()).toBe('2026-11-23T23:00:00.000Z')
  })
})
