/**
 * Token estimation from a request body, before the call, without a tokenizer.
 *
 * The prompt side counts the UTF-8 bytes of every string the model reads and divides by
 * BYTES_PER_TOKEN. Byte-level BPE tokenizers (OpenAI cl100k/o200k, Claude's) average about 4 bytes
 * per token on English prose and about 3 on code and CJK text, so for ordinary prompts the
 * estimate is at or above the real count; the hard bound is one token per byte, so adversarial
 * text (random bytes) can be under-estimated by up to 3x. The output side is exact as an upper
 * bound when the request names its maximum (`max_tokens`, `max_completion_tokens`,
 * `max_output_tokens`, times `n`); without one, `defaultMaxOutputTokens` is charged and settle
 * corrects the counters with the real usage either way.
 */

/** BYTES_PER_TOKEN is the divisor of the prompt estimate (see the file comment for its error). */
export const BYTES_PER_TOKEN = 3
/** OpenAI: a high-detail 1024x1024 image costs 765 tokens; low detail 85. */
export const OPENAI_IMAGE_TOKENS = { high: 765, low: 85 } as const
/** Anthropic: about width*height/750 tokens, at most ~1600 for an image it does not downscale. */
export const ANTHROPIC_IMAGE_TOKENS = 1_600
/** Per message framing (role, separators) in chat formats. */
export const MESSAGE_OVERHEAD_TOKENS = 4
/** Tokens that prime the assistant's reply. */
export const REPLY_PRIMING_TOKENS = 3
/** Charged for the output when the request does not bound it. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4_096

/** API dialect of a request body; `openai-compatible` providers speak `openai`. */
export type ApiDialect = 'openai' | 'anthropic'

export interface TokenEstimate {
  /** Estimated prompt (input) tokens. */
  promptTokens: number
  /** Most output tokens the call can produce: from the request, or the default. */
  maxOutputTokens: number
  /** promptTokens + maxOutputTokens: what a reservation charges. */
  total: number
  /** True when maxOutputTokens is the request's own bound, false when it is the default. */
  outputBounded: boolean
}

export interface EstimateOptions {
  defaultMaxOutputTokens?: number
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v)
const positiveInt = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined

/** Fields of a request body the model reads, per dialect; everything else is a parameter. */
const PROMPT_FIELDS: Record<ApiDialect, readonly string[]> = {
  openai: [
    'messages',
    'tools',
    'functions',
    'response_format',
    'input',
    'instructions',
    'prompt',
    'suffix',
    'text',
    'prediction',
  ],
  anthropic: ['system', 'messages', 'tools'],
}

/** Accumulates bytes of text and tokens of things that are not text (images, token ids). */
class Tally {
  bytes = 0
  tokens = 0
}

/**
 * estimateTokens estimates the tokens a call will use from its route (`/v1/chat/completions`,
 * `/v1/responses`, `/v1/completions`, `/v1/embeddings`, `/v1/messages`) and parsed JSON body.
 * A body it does not understand is estimated from all its strings, with the default output.
 */
export function estimateTokens(
  dialect: ApiDialect,
  route: string,
  body: unknown,
  options: EstimateOptions = {},
): TokenEstimate {
  const defaultOutput = options.defaultMaxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS
  const obj = isObject(body) ? body : {}
  const tally = new Tally()
  for (const field of PROMPT_FIELDS[dialect]) {
    const value = obj[field]
    if (value !== undefined) walk(dialect, value, tally)
  }
  const messages = Array.isArray(obj.messages) ? obj.messages.length : 0
  const isChat = messages > 0 || Array.isArray(obj.input)
  const framing = isChat ? messages * MESSAGE_OVERHEAD_TOKENS + REPLY_PRIMING_TOKENS : 0
  const promptTokens = Math.ceil(tally.bytes / BYTES_PER_TOKEN) + tally.tokens + framing

  const output = maxOutput(dialect, route, obj)
  const maxOutputTokens = output ?? defaultOutput
  return {
    promptTokens,
    maxOutputTokens,
    total: promptTokens + maxOutputTokens,
    outputBounded: output !== undefined,
  }
}

/** maxOutput returns the request's own bound on output tokens, or undefined when it has none. */
function maxOutput(dialect: ApiDialect, route: string, body: JsonObject): number | undefined {
  const path = route.split('?')[0] ?? ''
  if (path.endsWith('/embeddings') || path.endsWith('/count_tokens') || path.endsWith('/moderations'))
    return 0
  if (dialect === 'anthropic') return positiveInt(body.max_tokens)
  const n = Math.max(1, positiveInt(body.n) ?? 1)
  if (path.endsWith('/responses')) {
    const max = positiveInt(body.max_output_tokens)
    return max === undefined ? undefined : max
  }
  if (path.endsWith('/chat/completions')) {
    const max = positiveInt(body.max_completion_tokens) ?? positiveInt(body.max_tokens)
    return max === undefined ? undefined : max * n
  }
  if (path.endsWith('/completions')) {
    // The legacy completions API defaults max_tokens to 16; best_of generates that many server-side.
    const max = positiveInt(body.max_tokens) ?? 16
    return max * Math.max(n, positiveInt(body.best_of) ?? 1)
  }
  return undefined
}

/** walk adds what the model reads in one JSON value: strings as bytes, images and token ids as tokens. */
function walk(dialect: ApiDialect, value: Json, tally: Tally): void {
  if (typeof value === 'string') {
    tally.bytes += Buffer.byteLength(value, 'utf8')
    return
  }
  if (typeof value === 'number') {
    // token ids (`input: [1, 2, 3]`) are one token each; a number in a schema is at least one
    tally.tokens += 1
    return
  }
  if (Array.isArray(value)) {
    for (const item of value) walk(dialect, item, tally)
    return
  }
  if (!isObject(value)) return
  const image = imageTokens(dialect, value)
  if (image !== undefined) {
    tally.tokens += image
    return
  }
  for (const [key, item] of Object.entries(value)) {
    // Opaque ids and cache hints are not read as text; everything else (part types, schema
    // types, roles) is, or costs about as much as if it were.
    if (key === 'id' || key === 'tool_call_id' || key === 'tool_use_id' || key === 'cache_control') continue
    walk(dialect, item, tally)
  }
}

/** imageTokens is the fixed cost of an image part, or undefined when the value is not one. */
function imageTokens(dialect: ApiDialect, part: JsonObject): number | undefined {
  const type = part.type
  if (dialect === 'anthropic') return type === 'image' ? ANTHROPIC_IMAGE_TOKENS : undefined
  if (type === 'image_url' || type === 'input_image') {
    const detail = isObject(part.image_url) ? part.image_url.detail : part.detail
    return detail === 'low' ? OPENAI_IMAGE_TOKENS.low : OPENAI_IMAGE_TOKENS.high
  }
  return undefined
}
