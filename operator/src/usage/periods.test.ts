import { describe, expect, it } from 'vitest'
import { ledgerRange, periodBounds } from './periods.ts'

describe('periodBounds', () => {
  // The calendar itself is tested in api/src/budget-calendar.test.ts; this is the Date adapter.
  it('gives the period around an instant as Dates with its label', () => {
    const b = periodBounds('day', 'Asia/Kolkata', new Date('2026-11-23T20:00:00Z'))
    expect(b).toEqual({
      period: 'day',
      timezone: 'Asia/Kolkata',
      start: new Date('2026-11-23T18:30:00.000Z'),
      end: new Date('2026-11-24T18:30:00.000Z'),
      label: '2026-11-24',
    })
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
