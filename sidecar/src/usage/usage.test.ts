import { compilePrice } from '@tollgate/api'
import { describe, expect, it } from 'vitest'
import { costNano, priceOf } from './usage.ts'

const prices = [
  compilePrice({ model: 'gpt-4o*', inputPerMTok: '2.5', cachedInputPerMTok: '1.25', outputPerMTok: '10' }),
  compilePrice({
    model: 'gpt-4o-mini*',
    inputPerMTok: '0.15',
    cachedInputPerMTok: '0.075',
    outputPerMTok: '0.6',
  }),
]

describe('priceOf', () => {
  it.each([
    ['gpt-4o', 'gpt-4o*'],
    ['gpt-4o-2024-08-06', 'gpt-4o*'],
    ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini*'],
    ['claude-sonnet-4', undefined],
  ])('picks the most specific glob for %s', (model, glob) => {
    expect(priceOf(prices, model)?.model).toBe(glob)
  })
})

describe('costNano', () => {
  it.each([
    [{ inputTokens: 1000, outputTokens: 0, cachedInputTokens: 0, reasoningTokens: 0 }, 2_500_000],
    [
      { inputTokens: 1000, outputTokens: 100, cachedInputTokens: 400, reasoningTokens: 50 },
      600 * 2500 + 400 * 1250 + 100 * 10_000,
    ],
    [{ inputTokens: 10, outputTokens: 5, cachedInputTokens: 20, reasoningTokens: 0 }, 10 * 1250 + 5 * 10_000],
  ])('prices %o', (usage, nano) => {
    expect(costNano(priceOf(prices, 'gpt-4o'), usage)).toBe(nano)
  })

  it('is zero for a model without a price', () => {
    expect(
      costNano(undefined, { inputTokens: 5, outputTokens: 5, cachedInputTokens: 0, reasoningTokens: 0 }),
    ).toBe(0)
  })
})
