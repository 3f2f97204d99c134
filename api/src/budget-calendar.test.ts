import { describe, expect, it } from 'vitest'
import { BudgetCalendar } from './budget-calendar.ts'

const iso = (ms: number) => new Date(ms).toISOString()

describe('BudgetCalendar.periodAt', () => {
  it.each([
    // zone, period, at, label, start, end, what it shows
    [
      'UTC',
      'day',
      '2026-11-23T15:00:00Z',
      '2026-11-23',
      '2026-11-23T00:00:00.000Z',
      '2026-11-24T00:00:00.000Z',
    ],
    [
      'UTC',
      'month',
      '2026-12-31T23:59:59Z',
      '2026-12',
      '2026-12-01T00:00:00.000Z',
      '2027-01-01T00:00:00.000Z',
    ],
    // Berlin, ordinary winter day: UTC+1
    [
      'Europe/Berlin',
      'day',
      '2026-01-15T12:00:00Z',
      '2026-01-15',
      '2026-01-14T23:00:00.000Z',
      '2026-01-15T23:00:00.000Z',
    ],
    // Berlin, 23:30 UTC is already the next local day
    [
      'Europe/Berlin',
      'day',
      '2026-01-15T23:30:00Z',
      '2026-01-16',
      '2026-01-15T23:00:00.000Z',
      '2026-01-16T23:00:00.000Z',
    ],
    // Berlin spring forward 2026-03-29 02:00 -> 03:00: a 23-hour day
    [
      'Europe/Berlin',
      'day',
      '2026-03-29T12:00:00Z',
      '2026-03-29',
      '2026-03-28T23:00:00.000Z',
      '2026-03-29T22:00:00.000Z',
    ],
    // Berlin fall back 2026-10-25 03:00 -> 02:00: a 25-hour day
    [
      'Europe/Berlin',
      'day',
      '2026-10-25T12:00:00Z',
      '2026-10-25',
      '2026-10-24T22:00:00.000Z',
      '2026-10-25T23:00:00.000Z',
    ],
    // Berlin, the repeated hour itself belongs to the same day
    [
      'Europe/Berlin',
      'day',
      '2026-10-25T00:30:00Z',
      '2026-10-25',
      '2026-10-24T22:00:00.000Z',
      '2026-10-25T23:00:00.000Z',
    ],
    [
      'Europe/Berlin',
      'day',
      '2026-10-25T01:30:00Z',
      '2026-10-25',
      '2026-10-24T22:00:00.000Z',
      '2026-10-25T23:00:00.000Z',
    ],
    // Berlin month containing spring forward: starts UTC+1, ends UTC+2
    [
      'Europe/Berlin',
      'month',
      '2026-03-10T00:00:00Z',
      '2026-03',
      '2026-02-28T23:00:00.000Z',
      '2026-03-31T22:00:00.000Z',
    ],
    // Berlin leap February 2028 and its last second
    [
      'Europe/Berlin',
      'month',
      '2028-02-29T22:59:59Z',
      '2028-02',
      '2028-01-31T23:00:00.000Z',
      '2028-02-29T23:00:00.000Z',
    ],
    [
      'Europe/Berlin',
      'month',
      '2028-02-29T23:00:00Z',
      '2028-03',
      '2028-02-29T23:00:00.000Z',
      '2028-03-31T22:00:00.000Z',
    ],
    // New York spring forward 2026-03-08 02:00 -> 03:00: a 23-hour day
    [
      'America/New_York',
      'day',
      '2026-03-08T12:00:00Z',
      '2026-03-08',
      '2026-03-08T05:00:00.000Z',
      '2026-03-09T04:00:00.000Z',
    ],
    // Kolkata (+05:30) and Kathmandu (+05:45): midnight inside a UTC hour
    [
      'Asia/Kolkata',
      'day',
      '2026-11-23T20:00:00Z',
      '2026-11-24',
      '2026-11-23T18:30:00.000Z',
      '2026-11-24T18:30:00.000Z',
    ],
    [
      'Asia/Kathmandu',
      'day',
      '2026-11-23T12:00:00Z',
      '2026-11-23',
      '2026-11-22T18:15:00.000Z',
      '2026-11-23T18:15:00.000Z',
    ],
    // Berlin year end
    [
      'Europe/Berlin',
      'month',
      '2026-12-31T23:00:00Z',
      '2027-01',
      '2026-12-31T23:00:00.000Z',
      '2027-01-31T23:00:00.000Z',
    ],
    // New York spring forward 2026-03-08 02:00 -> 03:00: 23 hours, UTC-5 then UTC-4
    [
      'America/New_York',
      'day',
      '2026-03-08T15:00:00Z',
      '2026-03-08',
      '2026-03-08T05:00:00.000Z',
      '2026-03-09T04:00:00.000Z',
    ],
    // New York fall back 2026-11-01 02:00 -> 01:00: 25 hours
    [
      'America/New_York',
      'day',
      '2026-11-01T15:00:00Z',
      '2026-11-01',
      '2026-11-01T04:00:00.000Z',
      '2026-11-02T05:00:00.000Z',
    ],
    // New York: 03:00 UTC on Nov 1 is still Oct 31 locally; the month is October
    [
      'America/New_York',
      'month',
      '2026-11-01T03:59:59Z',
      '2026-10',
      '2026-10-01T04:00:00.000Z',
      '2026-11-01T04:00:00.000Z',
    ],
    [
      'America/New_York',
      'month',
      '2026-11-01T04:00:00Z',
      '2026-11',
      '2026-11-01T04:00:00.000Z',
      '2026-12-01T05:00:00.000Z',
    ],
    // New York, 30-day month end and February of a common year
    [
      'America/New_York',
      'day',
      '2026-05-01T03:59:59Z',
      '2026-04-30',
      '2026-04-30T04:00:00.000Z',
      '2026-05-01T04:00:00.000Z',
    ],
    [
      'America/New_York',
      'month',
      '2027-02-15T00:00:00Z',
      '2027-02',
      '2027-02-01T05:00:00.000Z',
      '2027-03-01T05:00:00.000Z',
    ],
    // Santiago springs forward at local midnight (2026-09-06 00:00 -> 01:00): the day starts at 01:00
    [
      'America/Santiago',
      'day',
      '2026-09-06T12:00:00Z',
      '2026-09-06',
      '2026-09-06T04:00:00.000Z',
      '2026-09-07T03:00:00.000Z',
    ],
    // a +13:45 zone with a DST change: Chatham
    [
      'Pacific/Chatham',
      'day',
      '2026-06-01T00:00:00Z',
      '2026-06-01',
      '2026-05-31T11:15:00.000Z',
      '2026-06-01T11:15:00.000Z',
    ],
  ] as const)('%s %s at %s is %s [%s, %s)', (zone, period, at, label, start, end) => {
    const p = new BudgetCalendar().periodAt(period, zone, Date.parse(at))
    expect({ label: p.label, start: iso(p.start), end: iso(p.end) }).toEqual({ label, start, end })
  })

  it('around gives the neighbouring periods that touch the current one', () => {
    const [prev, cur, next] = new BudgetCalendar().around(
      'day',
      'Europe/Berlin',
      Date.parse('2026-03-29T12:00:00Z'),
    )
    expect([prev.label, cur.label, next.label]).toEqual(['2026-03-28', '2026-03-29', '2026-03-30'])
    expect(prev.end).toBe(cur.start)
    expect(cur.end).toBe(next.start)
    expect(next.end - next.start).toBe(24 * 3_600_000)
    expect(prev.end - prev.start).toBe(24 * 3_600_000)
  })

  it('memoised results follow the instant across the boundary', () => {
    const calendar = new BudgetCalendar()
    const before = calendar.periodAt('day', 'America/New_York', Date.parse('2026-11-02T04:59:59.999Z'))
    const after = calendar.periodAt('day', 'America/New_York', Date.parse('2026-11-02T05:00:00.000Z'))
    expect([before.label, after.label]).toEqual(['2026-11-01', '2026-11-02'])
    expect(calendar.periodAt('day', 'America/New_York', before.start).label).toBe('2026-11-01')
  })
})
