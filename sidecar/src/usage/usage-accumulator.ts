import type { Usage } from './usage.ts'

type Json = Record<string, unknown>

const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined

const obj = (value: unknown): Json | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined

/**
 * UsageAccumulator folds the usage objects of one response (a JSON body or the events of a
 * stream) into one Usage. It knows three shapes:
 * - OpenAI chat/completions/embeddings: `usage.prompt_tokens` (cached included), `completion_tokens`,
 *   `prompt_tokens_details.cached_tokens`, `completion_tokens_details.reasoning_tokens`;
 * - OpenAI Responses: `usage.input_tokens`, `output_tokens`, `input_tokens_details.cached_tokens`,
 *   `output_tokens_details.reasoning_tokens`, in the body or in `response.completed`;
 * - Anthropic: `input_tokens` (cache reads and writes excluded), `cache_read_input_tokens`,
 *   `cache_creation_input_tokens`, `output_tokens`; `message_start` carries the first counts and
 *   every `message_delta` the cumulative ones, so a later value replaces an earlier one.
 */
export class UsageAccumulator {
  readonly #anthropic: boolean
  #input = 0
  #output = 0
  #cached = 0
  #reasoning = 0
  #cacheCreation = 0
  /** Model the provider says answered, e.g. `gpt-4o-2024-08-06`. */
  model: string | undefined = undefined
  /** At least one usage object was seen. */
  seen = false

  constructor(anthropic: boolean) {
    this.#anthropic = anthropic
  }

  /** absorb reads the usage and model out of one parsed JSON body or stream event. */
  absorb(value: unknown): void {
    const event = obj(value)
    if (!event) return
    const inner = obj(event.response) ?? obj(event.message)
    const model = event.model ?? inner?.model
    if (typeof model === 'string' && model) this.model = model
    const usage = obj(event.usage) ?? obj(inner?.usage)
    if (usage) this.#absorbUsage(usage)
  }

  #absorbUsage(u: Json): void {
    this.seen = true
    if (u.prompt_tokens !== undefined || u.completion_tokens !== undefined) {
      this.#input = num(u.prompt_tokens) ?? 0
      this.#output = num(u.completion_tokens) ?? 0
      this.#cached = num(obj(u.prompt_tokens_details)?.cached_tokens) ?? 0
      this.#reasoning = num(obj(u.completion_tokens_details)?.reasoning_tokens) ?? 0
      return
    }
    if (this.#anthropic) {
      this.#input = num(u.input_tokens) ?? this.#input
      this.#output = num(u.output_tokens) ?? this.#output
      this.#cached = num(u.cache_read_input_tokens) ?? this.#cached
      this.#cacheCreation = num(u.cache_creation_input_tokens) ?? this.#cacheCreation
      this.#reasoning = num(obj(u.output_tokens_details)?.thinking_tokens) ?? this.#reasoning
      return
    }
    this.#input = num(u.input_tokens) ?? 0
    this.#output = num(u.output_tokens) ?? 0
    this.#cached = num(obj(u.input_tokens_details)?.cached_tokens) ?? 0
    this.#reasoning = num(obj(u.output_tokens_details)?.reasoning_tokens) ?? 0
  }

  /** result is the normalised usage so far (input includes cached and cache-write tokens). */
  result(): Usage {
    return {
      inputTokens: this.#anthropic ? this.#input + this.#cached + this.#cacheCreation : this.#input,
      outputTokens: this.#output,
      cachedInputTokens: this.#cached,
      reasoningTokens: this.#reasoning,
    }
  }
}
