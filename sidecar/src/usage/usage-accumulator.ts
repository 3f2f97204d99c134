import { jsonPaths } from '../json/json-field-reader.ts'
import { emptyUsage, type Usage } from './usage.ts'

type Json = Record<string, unknown>

const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined

const obj = (value: unknown): Json | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined

/** UsageShape is how an endpoint reports what it used. */
export type UsageShape =
  | 'openai'
  | 'anthropic'
  | 'images'
  | 'speech'
  | 'transcription'
  | 'translation'
  | 'none'

/**
 * USAGE_PATHS are the key paths of a JSON body or stream event that carry usage and the model:
 * the top-level `usage` of an answer, `response.usage` of the Responses API's final events,
 * `message.usage` of Anthropic's message_start, and the top-level `duration` of a translation.
 */
export const USAGE_PATHS = [
  'usage',
  'model',
  'response.usage',
  'response.model',
  'message.usage',
  'message.model',
  'duration',
] as const

/** USAGE_FIELDS are USAGE_PATHS compiled for JsonFieldReader, once. */
export const USAGE_FIELDS = jsonPaths(USAGE_PATHS)
/** STRIP_FIELDS add `choices`, which tells OpenAI's usage-only chunk (`choices: []`) apart. */
export const STRIP_FIELDS = jsonPaths([...USAGE_PATHS, 'choices'])

/**
 * UsageAccumulator folds the usage objects of one response (a JSON body, or the events of a
 * stream, as JsonFieldReader found them) into one Usage. A later usage object replaces an
 * earlier one: Anthropic's message_delta is cumulative over message_start, and every other API
 * reports usage once, in its final event. The shapes it knows:
 * - OpenAI chat, completions, embeddings: `prompt_tokens` (cache reads, cache writes and audio
 *   included), `completion_tokens` (reasoning and audio included) and their `*_details`;
 * - OpenAI Responses and images: `input_tokens`, `output_tokens` and their `*_details`
 *   (images: text and image input tokens; the output is image tokens);
 * - OpenAI cache writes (`cache_write_tokens` of either details object) go to the cache-write
 *   field Anthropic's 5-minute writes use: OpenAI has one kind of write, billed at its row's
 *   `cacheWrite5mPerMTok`;
 * - OpenAI speech streamed as SSE: `input_tokens` (text), `output_tokens` (audio);
 * - OpenAI transcriptions: `{type: tokens}` (audio and text input) or `{type: duration, seconds}`,
 *   translations: the top-level `duration`;
 * - Anthropic: `input_tokens` (cache reads and writes excluded), `cache_read_input_tokens`,
 *   `cache_creation_input_tokens` split by `cache_creation` into the 5-minute and 1-hour
 *   caches, `output_tokens`, `output_tokens_details.thinking_tokens`.
 */
export class UsageAccumulator {
  readonly #shape: UsageShape
  #usage = emptyUsage()
  /** Anthropic reports input without cache reads and writes; kept apart until result(). */
  #anthropicInput = 0
  /** Model the provider says answered, e.g. `gpt-4o-2024-08-06`. */
  model: string | undefined = undefined
  /** At least one usage object was read. */
  seen = false
  /** A usage value was too large to keep (see JsonFieldReader): the call settles at its estimate. */
  unreadable = false

  constructor(shape: UsageShape) {
    this.#shape = shape
  }

  /** absorb takes the values JsonFieldReader found in one body or event. */
  absorb(values: ReadonlyMap<string, unknown>, overflowed = false): void {
    if (overflowed) this.unreadable = true
    const model = values.get('model') ?? values.get('response.model') ?? values.get('message.model')
    if (typeof model === 'string' && model) this.model = model
    const usage =
      obj(values.get('usage')) ?? obj(values.get('response.usage')) ?? obj(values.get('message.usage'))
    if (usage) this.#absorbUsage(usage)
    const duration = num(values.get('duration'))
    if (this.#shape === 'translation' && duration !== undefined) {
      this.seen = true
      this.#usage = { ...emptyUsage(), seconds: Math.ceil(duration) }
    }
  }

  #absorbUsage(u: Json): void {
    this.seen = true
    if (this.#shape === 'anthropic') {
      this.#absorbAnthropic(u)
      return
    }
    const usage = emptyUsage()
    if (this.#shape === 'transcription' && u.type === 'duration') {
      usage.seconds = Math.ceil(num(u.seconds) ?? 0)
      this.#usage = usage
      return
    }
    if (u.prompt_tokens !== undefined || u.completion_tokens !== undefined) {
      const prompt = obj(u.prompt_tokens_details)
      const completion = obj(u.completion_tokens_details)
      usage.inputTokens = num(u.prompt_tokens) ?? 0
      usage.outputTokens = num(u.completion_tokens) ?? 0
      usage.cachedInputTokens = num(prompt?.cached_tokens) ?? 0
      usage.cacheWrite5mTokens = num(prompt?.cache_write_tokens) ?? 0
      usage.audioInputTokens = num(prompt?.audio_tokens) ?? 0
      usage.reasoningTokens = num(completion?.reasoning_tokens) ?? 0
      usage.audioOutputTokens = num(completion?.audio_tokens) ?? 0
    } else {
      const input = obj(u.input_tokens_details) ?? obj(u.input_token_details)
      const output = obj(u.output_tokens_details)
      usage.inputTokens = num(u.input_tokens) ?? 0
      usage.outputTokens = num(u.output_tokens) ?? 0
      usage.cachedInputTokens = num(input?.cached_tokens) ?? 0
      usage.cacheWrite5mTokens = num(input?.cache_write_tokens) ?? 0
      usage.reasoningTokens = num(output?.reasoning_tokens) ?? 0
      if (this.#shape === 'images') {
        usage.imageInputTokens = num(input?.image_tokens) ?? 0
        // image models answer in image tokens, unless they say how many were text
        usage.imageOutputTokens =
          num(output?.image_tokens) ?? Math.max(0, usage.outputTokens - (num(output?.text_tokens) ?? 0))
      }
      // speech streamed as SSE reports text in, audio out
      if (this.#shape === 'speech') usage.audioOutputTokens = usage.outputTokens
      if (this.#shape === 'transcription') {
        usage.audioInputTokens =
          num(input?.audio_tokens) ?? usage.inputTokens - (num(input?.text_tokens) ?? 0)
      }
    }
    this.#usage = usage
  }

  #absorbAnthropic(u: Json): void {
    const usage = this.#usage
    this.#anthropicInput = num(u.input_tokens) ?? this.#anthropicInput
    usage.outputTokens = num(u.output_tokens) ?? usage.outputTokens
    usage.cachedInputTokens = num(u.cache_read_input_tokens) ?? usage.cachedInputTokens
    const writes = num(u.cache_creation_input_tokens)
    if (writes !== undefined) {
      const split = obj(u.cache_creation)
      const hour = num(split?.ephemeral_1h_input_tokens) ?? 0
      usage.cacheWrite1hTokens = Math.min(hour, writes)
      usage.cacheWrite5mTokens = writes - usage.cacheWrite1hTokens
    }
    usage.reasoningTokens = num(obj(u.output_tokens_details)?.thinking_tokens) ?? usage.reasoningTokens
    usage.webSearches = num(obj(u.server_tool_use)?.web_search_requests) ?? usage.webSearches
    if (typeof u.inference_geo === 'string') usage.dataResidency = u.inference_geo !== 'global'
  }

  /** result is the usage so far (input includes cached, cache-write, audio and image tokens). */
  result(): Usage {
    const usage = { ...this.#usage }
    if (this.#shape === 'anthropic')
      usage.inputTokens =
        this.#anthropicInput + usage.cachedInputTokens + usage.cacheWrite5mTokens + usage.cacheWrite1hTokens
    return usage
  }
}
