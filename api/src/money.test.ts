import { describe, expect, it } from 'vitest'
import { parseDuration } from './duration.ts'
import { nanoToUsd, usdToNano } from './money.ts'

describe('usdToNano', () => {
  it.each([
    ['0', 0],
    ['50', 50_000_000_000],
    ['12.5', 12_500_000_000],
    ['0.000001', 1_000],
    ['1000000.123456', 1_000_000_123_456_000],
  ])('%s USD is %d nano-dollars', (usd, nano) => expect(usdToNano(usd)).toBe(nano))

  it.each(['', '1,5', '-1', 'abc', '1.'])('refuses %j', (usd) =>
    expect(() => usdToNano(usd)).toThrow(/invalid USD/),
  )
})

describe('nanoToUsd', () => {
  it.each([
    [0, '0'],
    [12_500_000_000, '12.5'],
    [1_234, '0.000001'],
    [999_999_999, '1'],
    [-2_500_000, '-0.0025'],
  ])('%d nano-dollars is %s USD', (nano, usd) => expect(nanoToUsd(nano)).toBe(usd))
})

describe('parseDuration', () => {
  it.each([
    ['200ms', 200],
    ['5s', 5_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1_500],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms))

  it.each(['', '5', 'forever', '1d', '-5s'])('refuses %j', (text) =>
    expect(() => parseDuration(text)).toThrow(/invalid duration/),
  )
})
