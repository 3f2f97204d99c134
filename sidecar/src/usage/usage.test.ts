import { compilePrice, DEFAULT_PRICES, type PriceRow } from '@tollgate/api'
import { describe, expect, it } from 'vitest'
import { costNano, emptyUsage, highestPrice, priceOf, type Usage } from './usage.ts'

const prices = [
  compilePrice({
    model: 'gpt-4o*',
    provider: 'openai',
    inputPerMTok: '2.5',
    cachedInputPerMTok: '1.25',
    outputPerMTok: '10',
  }),
  compilePrice({
    model: 'gpt-4o-mini*',
    provider: 'openai',
    inputPerMTok: '0.15',
    cachedInputPerMTok: '0.075',
    outputPerMTok: '0.6',
  }),
  compilePrice({ model: 'claude-*', provider: 'anthropic', inputPerMTok: '3', outputPerMTok: '15' }),
  compilePrice({ model: 'llama-*', inputPerMTok: '0', outputPerMTok: '0' }),
]
const u = (fields: Partial<Usage>): Usage => ({ ...emptyUsage(), ...fields })
const shipped = (model: string) => compilePrice(DEFAULT_PRICES.find((r) => r.model === model) as PriceRow)

describe('priceOf', () => {
  it.each([
    ['openai', 'gpt-4o', 'gpt-4o*'],
    ['openai', 'gpt-4o-2024-08-06', 'gpt-4o*'],
    ['openai', 'gpt-4o-mini-2024-07-18', 'gpt-4o-mini*'],
    ['openai', 'claude-sonnet-4', undefined],
    ['anthropic', 'claude-sonnet-4', 'claude-*'],
    ['anthropic', 'gpt-4o', undefined],
    ['anthropic', 'llama-3', 'llama-*'],
  ] as const)('in the %s family picks the most specific glob for %s', (family, model, glob) => {
    expect(priceOf(prices, family, model)?.model).toBe(glob)
  })

  it('highestPrice is at least every row of the family in every unit', () => {
    const high = highestPrice(DEFAULT_PRICES.map(compilePrice), 'anthropic', 'claude-next')
    expect([high.inputNano, high.outputNano, high.cacheWrite1hNano]).toEqual([15_000, 75_000, 30_000])
  })
})

describe('costNano', () => {
  it.each([
    ['text input', u({ inputTokens: 1000 }), 2_500_000],
    [
      'cached input and reasoning (billed as output)',
      u({ inputTokens: 1000, outputTokens: 100, cachedInputTokens: 400, reasoningTokens: 50 }),
      600 * 2500 + 400 * 1250 + 100 * 10_000,
    ],
    [
      'more cached than input',
      u({ inputTokens: 10, outputTokens: 5, cachedInputTokens: 20 }),
      10 * 1250 + 5 * 10_000,
    ],
  ])('prices %s', (_name, usage, nano) => {
    expect(costNano(priceOf(prices, 'openai', 'gpt-4o'), usage)).toBe(nano)
  })

  it.each([
    [
      'Anthropic cache writes (5-minute 1.25x, 1-hour 2x) and reads',
      'claude-sonnet-4-5*',
      u({
        inputTokens: 1700,
        cachedInputTokens: 400,
        cacheWrite5mTokens: 1000,
        cacheWrite1hTokens: 200,
        outputTokens: 10,
      }),
      100 * 3000 + 400 * 300 + 1000 * 3750 + 200 * 6000 + 10 * 15_000,
    ],
    [
      'a Claude Sonnet 4.5 call over 200K input at the long-context rates',
      'claude-sonnet-4-5*',
      u({ inputTokens: 250_000, outputTokens: 1000 }),
      250_000 * 6000 + 1000 * 22_500,
    ],
    [
      'a Claude Haiku 5.5 call of exactly 100,000 prompt tokens (cache reads and writes included) at the base rates',
      'claude-haiku-5-5',
      u({
        inputTokens: 100_000,
        cachedInputTokens: 60_000,
        cacheWrite5mTokens: 20_000,
        cacheWrite1hTokens: 10_000,
        outputTokens: 1000,
      }),
      10_000 * 100 + 60_000 * 10 + 20_000 * 125 + 10_000 * 200 + 1000 * 500,
    ],
    [
      'a Claude Haiku 5.5 call of 100,001 prompt tokens, every token at the higher band',
      'claude-haiku-5-5',
      u({
        inputTokens: 100_001,
        cachedInputTokens: 60_000,
        cacheWrite5mTokens: 20_000,
        cacheWrite1hTokens: 10_000,
        outputTokens: 1000,
      }),
      10_001 * 500 + 60_000 * 50 + 20_000 * 625 + 10_000 * 1000 + 1000 * 2500,
    ],
    [
      'OpenAI cache writes at 1.25x input (GPT-5.6 Luna)',
      'gpt-5.6-luna',
      u({ inputTokens: 10_000, cachedInputTokens: 2000, cacheWrite5mTokens: 5000, outputTokens: 100 }),
      3000 * 200 + 2000 * 20 + 5000 * 250 + 100 * 1200,
    ],
    [
      'a GPT-5.6 Sol call of exactly 272K input at the base rates',
      'gpt-5.6-sol',
      u({ inputTokens: 272_000, cachedInputTokens: 72_000, cacheWrite5mTokens: 100_000, outputTokens: 1000 }),
      100_000 * 5000 + 72_000 * 500 + 100_000 * 6250 + 1000 * 30_000,
    ],
    [
      'a GPT-5.6 Sol call over 272K input: 2x input, 1.5x output for the full request',
      'gpt-5.6-sol',
      u({ inputTokens: 272_001, cachedInputTokens: 72_000, cacheWrite5mTokens: 100_000, outputTokens: 1000 }),
      100_001 * 10_000 + 72_000 * 1000 + 100_000 * 12_500 + 1000 * 45_000,
    ],
    [
      'a GPT-5.4 call over 272K input',
      'gpt-5.4',
      u({ inputTokens: 300_000, outputTokens: 1000, reasoningTokens: 500 }),
      300_000 * 5000 + 1000 * 22_500,
    ],
    [
      'audio tokens',
      'gpt-4o-audio-preview*',
      u({ inputTokens: 1100, audioInputTokens: 1000, outputTokens: 2100, audioOutputTokens: 2000 }),
      100 * 2500 + 1000 * 40_000 + 100 * 10_000 + 2000 * 80_000,
    ],
    [
      'gpt-image-1 text and image tokens',
      'gpt-image-1',
      u({ inputTokens: 100, imageInputTokens: 60, outputTokens: 4160, imageOutputTokens: 4160 }),
      40 * 5000 + 60 * 10_000 + 4160 * 40_000,
    ],
    ['dall-e-3 per image', 'dall-e-3', u({ images: 2, imageKind: 'hd:1024x1792' }), 240_000_000],
    [
      'dall-e-3 of a kind the table lacks: the dearest',
      'dall-e-3',
      u({ images: 1, imageKind: 'x:1x1' }),
      120_000_000,
    ],
    ['whisper-1 per second', 'whisper-1', u({ seconds: 61 }), 61 * 100_000],
    ['tts-1 per character', 'tts-1', u({ characters: 1000 }), 15_000_000],
  ])('prices %s', (_name, model, usage, nano) => {
    expect(costNano(shipped(model), usage)).toBe(nano)
  })

  it('halves a batch call, rounding up', () => {
    expect(costNano(priceOf(prices, 'openai', 'gpt-4o'), u({ inputTokens: 3 }), true)).toBe(3750)
  })

  it('is zero for a model without a price', () => {
    expect(costNano(undefined, u({ inputTokens: 5, outputTokens: 5 }))).toBe(0)
  })
})
