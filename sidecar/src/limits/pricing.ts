import { mostSpecific, type Price } from '@tollgate/api'

/** Usage is what a call really consumed, as the provider reports it. */
export interface Usage {
  inputTokens: number
  outputTokens: number
  /** Input tokens served from the provider's prompt cache (a part of inputTokens). */
  cachedInputTokens?: number
}

/** priceFor returns the most specific price of the model, or undefined for an unpriced model. */
export const priceFor = (prices: readonly Price[], model: string): Price | undefined =>
  mostSpecific(prices, (p) => p.model, model)

/**
 * costNano prices real usage in integer nano-dollars. Cached input tokens are part of
 * inputTokens (OpenAI and Anthropic both report them so once normalised) and are billed at the
 * cached rate. An unpriced model costs 0: budgets cannot see it, which the caller may report.
 */
export function costNano(price: Price | undefined, usage: Usage): number {
  if (!price) return 0
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens)
  return (
    (usage.inputTokens - cached) * price.inputNano +
    cached * price.cachedInputNano +
    usage.outputTokens * price.outputNano
  )
}

/** estimateCostNano prices an estimate at the full input rate: an upper bound of costNano for it. */
export const estimateCostNano = (
  price: Price | undefined,
  estimate: { promptTokens: number; maxOutputTokens: number },
): number => costNano(price, { inputTokens: estimate.promptTokens, outputTokens: estimate.maxOutputTokens })
