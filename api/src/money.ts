/**
 * Money is carried as integer nano-dollars (1e-9 USD) everywhere past the API surface: prices per
 * million tokens become nano-dollars per token with no rounding for prices of up to three
 * decimals, and budgets up to about $9M stay exact in a Lua number (2^53).
 */
export const MONEY_PATTERN = '^(0|[1-9][0-9]{0,8})(\\.[0-9]{1,6})?$'

const NANO_PER_USD = 1_000_000_000n

/** usdToNano parses a decimal USD string ("12.50") into integer nano-dollars without float error. */
export function usdToNano(usd: string): number {
  const match = /^(\d+)(?:\.(\d{1,9}))?$/.exec(usd.trim())
  if (!match) throw new Error(`invalid USD amount ${JSON.stringify(usd)}`)
  const whole = BigInt(match[1] as string) * NANO_PER_USD
  const frac = BigInt((match[2] ?? '').padEnd(9, '0'))
  return Number(whole + frac)
}

/** nanoToUsd formats nano-dollars as a USD string with up to six decimals ("0.000125"). */
export function nanoToUsd(nano: number): string {
  const sign = nano < 0 ? '-' : ''
  const abs = BigInt(Math.round(Math.abs(nano)))
  const whole = abs / NANO_PER_USD
  const micro = ((abs % NANO_PER_USD) + 500n) / 1000n
  const carry = micro === 1_000_000n
  const frac = (carry ? 0n : micro).toString().padStart(6, '0').replace(/0+$/, '')
  return `${sign}${carry ? whole + 1n : whole}${frac ? `.${frac}` : ''}`
}
