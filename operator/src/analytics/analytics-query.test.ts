import { describe, expect, it } from 'vitest'
import { parseAnalyticsQuery } from './analytics-query.ts'

const now = new Date('2026-12-01T15:30:00Z')
const parse = (query: string) => parseAnalyticsQuery(new URL(`http://x/?${query}`), now)

describe('parseAnalyticsQuery', () => {
  it('defaults to today so far, hourly buckets, the top 10', () => {
    expect(parse('tenant=acme')).toEqual({
      tenant: 'acme',
      from: new Date('2026-12-01T00:00:00Z'),
      to: now,
      bucket: 'hour',
      top: 10,
    })
  })

  it.each([
    ['bucket=week', 'bucket is hour, day or month'],
    ['by=colour', 'by is one of tenant, provider, model, namespace, workload, user'],
    ['top=101', 'top is an integer from 1 to 100'],
    ['top=1.5', 'top is an integer from 1 to 100'],
    ['from=2026-12-02&to=2026-12-01', 'to must be after from'],
    ['from=2026-01-01&to=2026-03-01', 'hourly buckets cover at most 32 days'],
  ])('refuses %s with a message', (query, message) => {
    expect(parse(query)).toEqual({ invalid: expect.stringContaining(message) })
  })

  it('takes a month of days grouped by workload', () => {
    expect(parse('from=2026-11-01&to=2026-12-01&bucket=day&by=workload&top=5')).toMatchObject({
      bucket: 'day',
      by: 'workload',
      top: 5,
    })
  })
})
