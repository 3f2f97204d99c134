import type { UsageShape } from '../usage/usage-accumulator.ts'

/** Estimator names how a call's cost is estimated before it is sent (limits/call-estimate.ts). */
export type Estimator =
  | 'openai-tokens'
  | 'anthropic-tokens'
  | 'images'
  | 'speech'
  | 'audio-input'
  | 'anthropic-batch'
  | 'openai-batch'
  | 'none'

/**
 * Endpoint is one entry of a provider's endpoint table: what a method and path are, and so how
 * the sidecar treats them. A `model` call names a model (in its JSON body, or in a form field),
 * passes the tenant's model rules, limits and budgets, and is priced from the table; a `free`
 * call costs nothing (listing, reading, deleting, counting tokens) and is only counted as a
 * request.
 */
export interface Endpoint {
  /** Short name for logs and the table test: `chat.completions`, `messages.batches`. */
  name: string
  kind: 'model' | 'free'
  /** `gen_ai.operation.name` for spans; absent for calls that are not model invocations. */
  operation?: 'chat' | 'text_completion' | 'embeddings' | 'image_generation' | 'speech' | 'transcription'
  /** How the body names the model: JSON (`model`) or multipart form data (the `model` field). */
  body: 'json' | 'form'
  usage: UsageShape
  estimate: Estimator
  /** OpenAI chat/completions streams report usage only when asked with `stream_options`. */
  streamUsageOption: boolean
  /** Billed at the batch price; refused unless the provider's `endpoints.batches` is govern. */
  batch?: boolean
  /** A body with `background: true` is refused unless `endpoints.backgroundResponses` is govern. */
  background?: boolean
  /** A free call that must name a model all the same (count_tokens), held to the model rules. */
  requiresModel?: boolean
  /**
   * A free read that may carry the final usage of a deferred call (sidecar/src/deferred): a
   * finished batch or background Response (`final-object`: its top-level `id`, `status` and
   * `usage`), or the JSONL results of an Anthropic message batch (`batch-results`).
   */
  report?: 'final-object' | 'batch-results'
  /** The answer holds Anthropic message batches, whose `results_url` must point at the sidecar. */
  resultsUrl?: boolean
}

const free = (name: string): Endpoint => ({
  name,
  kind: 'free',
  body: 'json',
  usage: 'none',
  estimate: 'none',
  streamUsageOption: false,
})

/** freeEndpoint is a metadata call (list, read, delete, cancel, count) under a name. */
export const freeEndpoint = free

/** modelEndpoint is a model call whose usage comes back in the answer. */
export const modelEndpoint = (
  name: string,
  fields: Omit<Endpoint, 'name' | 'kind' | 'streamUsageOption' | 'body'> &
    Partial<Pick<Endpoint, 'streamUsageOption' | 'body'>>,
): Endpoint => ({
  name,
  kind: 'model',
  body: 'json',
  streamUsageOption: false,
  ...fields,
})

/** RefusedEndpoint is a known endpoint the sidecar refuses: why, and the setting that would enable it. */
export interface RefusedEndpoint {
  name: string
  reason: string
}

/** TableEntry maps `METHOD /path/{id}/...` (segments `{id}` match one segment) to a decision. */
export type TableEntry = [route: string, decision: Endpoint | RefusedEndpoint]

export const isRefused = (d: Endpoint | RefusedEndpoint): d is RefusedEndpoint => 'reason' in d
