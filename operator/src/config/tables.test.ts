import { DEFAULT_TIERS } from '@tollgate/api'
import { describe, expect, it } from 'vitest'
import { parsePriceTable, parseTierTable } from './tables.ts'

describe('tier table override', () => {
  it('replaces listed tiers whole and keeps the others', () => {
    const tiers = parseTierTable('pro:\n  requestsPerMinute: 10\nfree: {}\n')
    expect(tiers.pro).toEqual({ requestsPerMinute: 10 })
    expect(tiers.free).toEqual({})
    expect(tiers.enterprise).toEqual(DEFAULT_TIERS.enterprise)
  })

  it.each([
    ['gold: {}', /unknown tier "gold"/],
    ['pro:\n  rpm: 5', /pro.rpm: unknown limit/],
    ['pro:\n  concurrency: -1', /positive integer/],
    ['- a', /expected a map/],
  ])('refuses %j', (text, message) => {
    expect(() => parseTierTable(text)).toThrow(message)
  })
})

describe('price table override', () => {
  it('reads rows, numbers or strings', () => {
    expect(parsePriceTable('- { model: "m*", inputPerMTok: 1, outputPerMTok: "2.5" }')).toEqual([
      { model: 'm*', inputPerMTok: '1', outputPerMTok: '2.5' },
    ])
  })

  it.each([
    ['- { inputPerMTok: 1, outputPerMTok: 1 }', /\[0\]\.model: required/],
    ['- { model: m, inputPerMTok: -1, outputPerMTok: 1 }', /invalid price/],
    ['model: m', /expected a list/],
  ])('refuses %j', (text, message) => {
    expect(() => parsePriceTable(text)).toThrow(message)
  })
})
