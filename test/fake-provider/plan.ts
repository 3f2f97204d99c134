import type { Behaviour } from './behaviour.ts'
import { completionWords, DEFAULT_OUTPUT_WORDS, estimateTokens, streamPieces } from './words.ts'

/** CompletionPlan is everything one completion reports, decided before the first byte is written. */
export interface CompletionPlan {
  /** text is the whole completion; pieces are its stream chunks, one word each. */
  text: string
  pieces: string[]
  /** truncated is true when max tokens cut the words short (finish reason `length` / `max_tokens`). */
  truncated: boolean
  /** inputTokens is the estimate from the prompt text, without cached or cache-write tokens. */
  inputTokens: number
  cachedTokens: number
  /** Cache writes: Anthropic's 5-minute cache (also OpenAI's only kind) and 1-hour cache. */
  cacheCreationTokens: number
  cacheCreation1hTokens: number
  reasoningTokens: number
  /** OpenAI audio models: audio tokens of the prompt and of the answer. */
  audioInputTokens: number
  audioOutputTokens: number
  /** outputTokens is words plus reasoning and audio tokens. */
  outputTokens: number
  /** Anthropic: server-side web searches, and the region inference ran in. */
  webSearchRequests: number
  inferenceGeo: string
}

/** PlanInput is what a route extracts from its request body. */
export interface PlanInput {
  /** prompt is every text of the prompt; its characters make the input token estimate. */
  prompt: string[]
  /** seed picks the words; routes pass the last user message. */
  seed: string
  maxTokens: number | undefined
  behaviour: Behaviour
}

/**
 * planCompletion applies the fake's rules: min(outputTokens ?? 12, maxTokens) words seeded by the
 * last user message, ceil(prompt characters / 4) input tokens, extra counts from the behaviour.
 */
export const planCompletion = ({ prompt, seed, maxTokens, behaviour }: PlanInput): CompletionPlan => {
  const wanted = behaviour.outputTokens ?? DEFAULT_OUTPUT_WORDS
  const count = maxTokens === undefined ? wanted : Math.min(wanted, maxTokens)
  const words = completionWords(seed, count)
  const reasoningTokens = behaviour.reasoningTokens ?? 0
  const audioOutputTokens = behaviour.audioOutputTokens ?? 0
  return {
    text: words.join(' '),
    pieces: streamPieces(words),
    truncated: count < wanted,
    inputTokens: estimateTokens(prompt),
    cachedTokens: behaviour.cachedTokens ?? 0,
    cacheCreationTokens: behaviour.cacheCreationTokens ?? 0,
    cacheCreation1hTokens: behaviour.cacheCreation1hTokens ?? 0,
    reasoningTokens,
    audioInputTokens: behaviour.audioInputTokens ?? 0,
    audioOutputTokens,
    outputTokens: count + reasoningTokens + audioOutputTokens,
    webSearchRequests: behaviour.webSearchRequests ?? 0,
    inferenceGeo: behaviour.inferenceGeo ?? 'global',
  }
}
