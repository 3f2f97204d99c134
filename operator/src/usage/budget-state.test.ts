import { describe, expect, it } from 'vitest'
import {
  alertThresholds,
  crossedThresholds,
  exhaustedPeriods,
  type TenantUsage,
  usageEntries,
  usageFromStatus,
} from './budget-state.ts'
import { periodBounds } from './periods.ts'

const at = new Date('2026-11-23T15:00:00Z')
const usage = (costNano: number, limitNano?: number, alertAt: number[] = []): TenantUsage => ({
  at,
  periods: [
    {
      bounds: periodBounds('day', 'UTC', at),
      totals: { requests: 3, inputTokens: 100, outputTokens: 50, costNano },
      ...(limitNano !== undefined && { limitNano }),
      alertAt,
    },
  ],
})

describe('alert thresholds', () => {
  it('alert a budget that names none when it is used up, and keep an explicit list, even an empty one', () => {
    expect(alertThresholds({})).toEqual([1])
    expect(alertThresholds({ alertAt: [1, 0.5] })).toEqual([0.5, 1])
    expect(alertThresholds({ alertAt: [] })).toEqual([])
    expect(alertThresholds(undefined)).toEqual([])
    const [period] =
      usageFromStatus(
        [
          {
            period: 'day',
            start: '2026-11-23T00:00:00.000Z',
            resetsAt: '2026-11-24T00:00:00.000Z',
            requests: 1,
            inputTokens: 1,
            outputTokens: 1,
            costUSD: '6',
            limitUSD: '5',
          },
        ],
        [{ period: 'day', limitUSD: '5' }],
        at,
      )?.periods ?? []
    expect(period && crossedThresholds(period)).toEqual([1])
  })
})

describe('budget state', () => {
  it('renders status.usage with remaining money', () => {
    expect(usageEntries(usage(12_500_000_000, 50_000_000_000))).toEqual([
      {
        period: 'day',
        start: '2026-11-23T00:00:00.000Z',
        resetsAt: '2026-11-24T00:00:00.000Z',
        requests: 3,
        inputTokens: 100,
        outputTokens: 50,
        costUSD: '12.5',
        limitUSD: '50',
        remainingUSD: '37.5',
      },
    ])
  })

  it('never shows negative remaining money', () => {
    expect(usageEntries(usage(60_000_000_000, 50_000_000_000))[0]?.remainingUSD).toBe('0')
  })

  it.each([
    [49_999_999_999, {}],
    [50_000_000_000, { day: '2026-11-24T00:00:00.000Z' }],
  ])('spend %i nano of 50 USD exhausts %j', (cost, expected) => {
    expect(exhaustedPeriods(usage(cost, 50_000_000_000))).toEqual(expected)
  })

  it.each([
    [39_999_999_999, []],
    [40_000_000_000, [0.8]],
    [50_000_000_000, [0.8, 1]],
  ])('spend %i nano crosses %j of [0.8, 1]', (cost, expected) => {
    expect(crossedThresholds(usage(cost, 50_000_000_000, [0.8, 1]).periods[0] as never)).toEqual(expected)
  })

  it('rebuilds the current period from the last status and drops a period that ended', () => {
    const entries = usageEntries(usage(50_000_000_000, 50_000_000_000))
    const budgets = [{ period: 'day' as const, limitUSD: '50' }]
    const same = usageFromStatus(entries, budgets, new Date('2026-11-23T20:00:00Z'))
    expect(same && exhaustedPeriods(same)).toEqual({ day: '2026-11-24T00:00:00.000Z' })
    const next = usageFromStatus(entries, budgets, new Date('2026-11-24T01:00:00Z'))
    expect(next && exhaustedPeriods(next)).toEqual({})
  })
})
