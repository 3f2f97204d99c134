import type { Price } from '@tollgate/api'
import { mostSpecific } from '@tollgate/api/glob.ts'

/**
 * Usage is the token count of one call, normalised across providers: `inputTokens` counts every
 * input token including cached ones, `cachedInputTokens` is the part read from the provider's
 * prompt cache, `reasoningTokens` is the part of `outputTokens` spent on reasoning.
 */
export interface Usage {
  inputTokens: number
  outputTokens: number
  cachedInputTokens: number
  reasoningTokens: number
}

export const emptyUsage = (): Usage => ({
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  reasoningTokens: 0,
})

/** priceOf returns the most specific price whose model glob matches, or undefined. */
export const priceOf = (prices: readonly Price[], model: string): Price | undefined =>
  mostSpecific(prices, (p) => p.model, model)

/**
 * costNano prices a call in integer nano-dollars: uncached input at the input price, cached input
 * at the cached price, output (reasoning included) at the output price.
 */
export function costNano(price: Price | undefined, usage: Usage): number {
  if (!price) return 0
  const cached = Math.min(usage.cachedInputTokens, usage.inputTokens)
  return (
    (usage.inputTokens - cached) * price.inputNano +
    cached * price.cachedInputNano +
    usage.outputTokens * price.outputNano
  )
}
