import type { Price, PriceFamily } from '@tollgate/api'
import { mostSpecific } from '@tollgate/api/glob.ts'
import { BATCH_DISCOUNT } from '@tollgate/api/prices.ts'

/**
 * Usage is what one call used, normalised across providers and endpoints. `inputTokens` counts
 * every input token (cache reads and writes, audio and image tokens included) and `outputTokens`
 * every output token (reasoning, audio and image tokens included); the other token fields are
 * the parts of those totals that are billed at other rates. `images`, `seconds` and `characters`
 * are the units of endpoints billed per image, per second of audio and per character.
 */
export interface Usage {
  inputTokens: number
  outputTokens: number
  /** Text input read from the provider's prompt cache. */
  cachedInputTokens: number
  /** Part of the output spent on reasoning (billed as output). */
  reasoningTokens: number
  /** Prompt-cache writes: Anthropic's 5-minute and 1-hour caches; OpenAI's writes count as 5-minute. */
  cacheWrite5mTokens: number
  cacheWrite1hTokens: number
  audioInputTokens: number
  audioOutputTokens: number
  imageInputTokens: number
  imageOutputTokens: number
  /** Images made, and their kind for a per-image price (`hd:1024x1792`, `256x256`). */
  images: number
  imageKind: string
  /** Seconds of input audio (whisper-1). */
  seconds: number
  /** Characters of input text (tts-1). */
  characters: number
  /** Searches a provider-side web search tool ran (Anthropic `server_tool_use`), billed per search. */
  webSearches: number
  /** Inference pinned to one region (Anthropic `inference_geo` other than global): a premium on every token. */
  dataResidency: boolean
}

export const emptyUsage = (): Usage => ({
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  reasoningTokens: 0,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  audioInputTokens: 0,
  audioOutputTokens: 0,
  imageInputTokens: 0,
  imageOutputTokens: 0,
  images: 0,
  imageKind: '',
  seconds: 0,
  characters: 0,
  webSearches: 0,
  dataResidency: false,
})

/** priceFamily is whose price rows apply to a provider type: openai-compatible servers speak OpenAI's API. */
export const priceFamily = (type: string): PriceFamily => (type === 'anthropic' ? 'anthropic' : 'openai')

/** priceOf returns the most specific price of the family whose model glob matches, or undefined. */
export const priceOf = (prices: readonly Price[], family: PriceFamily, model: string): Price | undefined =>
  mostSpecific(
    prices.filter((p) => p.provider === undefined || p.provider === family),
    (p) => p.model,
    model,
  )

/**
 * highestPrice is a price at least as high as every row of the family in every unit: what
 * `unpricedModels: estimate` charges a model the table does not know.
 */
export function highestPrice(prices: readonly Price[], family: PriceFamily, model: string): Price {
  const rows = prices.filter((p) => p.provider === undefined || p.provider === family)
  const max = (unit: (p: Price) => number | undefined) => rows.reduce((m, p) => Math.max(m, unit(p) ?? 0), 0)
  const perImage = max((p) => (p.perImageNano ? Math.max(...Object.values(p.perImageNano)) : undefined))
  const input = max((p) => Math.max(p.inputNano, p.longContext?.inputNano ?? 0))
  const output = max((p) => Math.max(p.outputNano, p.longContext?.outputNano ?? 0))
  return {
    model,
    provider: family,
    inputNano: input,
    outputNano: output,
    cachedInputNano: input,
    cacheWrite5mNano: max((p) => p.cacheWrite5mNano ?? p.inputNano),
    cacheWrite1hNano: max((p) => p.cacheWrite1hNano ?? p.inputNano),
    audioInputNano: max((p) => p.audioInputNano ?? p.inputNano),
    audioOutputNano: max((p) => p.audioOutputNano ?? p.outputNano),
    imageInputNano: max((p) => p.imageInputNano ?? p.inputNano),
    imageOutputNano: max((p) => p.imageOutputNano ?? p.outputNano),
    ...(perImage > 0 && { perImageNano: { '*': perImage } }),
    perSecondNano: max((p) => p.perSecondNano),
    perCharacterNano: max((p) => p.perCharacterNano),
  }
}

/** perImageNano is the price of one image of a kind; an unknown kind costs the dearest the row lists. */
function perImageNano(price: Price, kind: string): number {
  const table = price.perImageNano
  if (!table) return 0
  return table[kind] ?? Math.max(...Object.values(table))
}

/**
 * costNano prices a call in integer nano-dollars: every token class at its rate (text input,
 * cache reads, both cache writes, audio and image input; text, audio and image output, reasoning
 * as output), plus images, seconds and characters at their unit prices. A call whose input
 * passes the row's long-context threshold is billed at the long-context rates as a whole, a call
 * pinned to one region at the row's data-residency factor (tokens only), web searches per search,
 * and a batch call at BATCH_DISCOUNT. An unknown model (no price) costs 0: callers refuse it first
 * (`unpricedModels: deny`) or pass the highest price (`estimate`).
 */
export function costNano(price: Price | undefined, usage: Usage, batch = false): number {
  if (!price) return 0
  const long =
    price.longContext && usage.inputTokens > price.longContext.aboveInputTokens
      ? price.longContext
      : undefined
  const inputNano = long?.inputNano ?? price.inputNano
  const outputNano = long?.outputNano ?? price.outputNano
  const cached = Math.min(usage.cachedInputTokens, usage.inputTokens)
  const special =
    cached +
    usage.cacheWrite5mTokens +
    usage.cacheWrite1hTokens +
    usage.audioInputTokens +
    usage.imageInputTokens
  const textInput = Math.max(0, usage.inputTokens - special)
  const textOutput = Math.max(0, usage.outputTokens - usage.audioOutputTokens - usage.imageOutputTokens)
  const tokens =
    textInput * inputNano +
    cached * (long?.cachedInputNano ?? price.cachedInputNano) +
    usage.cacheWrite5mTokens * (long?.cacheWrite5mNano ?? price.cacheWrite5mNano ?? inputNano) +
    usage.cacheWrite1hTokens * (long?.cacheWrite1hNano ?? price.cacheWrite1hNano ?? inputNano) +
    usage.audioInputTokens * (price.audioInputNano ?? inputNano) +
    usage.imageInputTokens * (price.imageInputNano ?? inputNano) +
    textOutput * outputNano +
    usage.audioOutputTokens * (price.audioOutputNano ?? outputNano) +
    usage.imageOutputTokens * (price.imageOutputNano ?? outputNano)
  const units =
    usage.images * perImageNano(price, usage.imageKind) +
    usage.seconds * (price.perSecondNano ?? 0) +
    usage.characters * (price.perCharacterNano ?? 0)
  const residency = usage.dataResidency ? (price.dataResidencyFactor ?? 1) : 1
  const cost = Math.round(tokens * residency) + units + usage.webSearches * (price.perWebSearchNano ?? 0)
  return batch ? Math.ceil(cost * BATCH_DISCOUNT) : cost
}
