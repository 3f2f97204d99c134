import type { Price } from '@tollgate/api'
import { costNano } from '../usage/usage.ts'
import type { TokenEstimate } from './estimate.ts'

/**
 * estimateCostNano prices a token estimate with the same rule as real usage (usage.ts), at the
 * full input rate (no cached-input discount): an upper bound of the real cost of those tokens.
 * An unpriced model costs 0 and is invisible to budgets.
 */
export const estimateCostNano = (
  price: Price | undefined,
  estimate: Pick<TokenEstimate, 'promptTokens' | 'maxOutputTokens'>,
): number =>
  costNano(price, {
    inputTokens: estimate.promptTokens,
    outputTokens: estimate.maxOutputTokens,
    cachedInputTokens: 0,
    reasoningTokens: 0,
  })
