import type { IncomingHttpHeaders } from 'node:http'

/**
 * Behaviour is how the fake treats one request. Every field is optional; an empty Behaviour is a
 * healthy provider. Requests set it with `x-fake-*` headers (BEHAVIOUR_HEADERS); `fake.behave()`
 * sets defaults for every request, and a header overrides its default field by field.
 */
export interface Behaviour {
  /** Milliseconds to wait before the response headers. */
  delayMs?: number
  /** Milliseconds to wait before each stream event after the first. */
  chunkDelayMs?: number
  /** Answer this status (400..599) in the provider's error shape instead of the result. */
  fail?: number
  /** Seconds for the `retry-after` header of a failure (fractions allowed, sent as given). */
  retryAfter?: number
  /** Only the first N requests of the scenario fail; later ones succeed. Needs `fail`. */
  failTimes?: number
  /** Groups requests for `failTimes`; requests without a scenario share the scenario ''. */
  scenario?: string
  /** Streams: send N words then hold the connection open until the client goes away. Non-streamed: never answer. */
  stallAfter?: number
  /** Streams: send N words then destroy the socket. Non-streamed: destroy it before any byte. */
  cutAfter?: number
  /** Words in the completion (one word is one output token), before `max_tokens` caps it. Default 12. */
  outputTokens?: number
  /** Cached prompt tokens, reported on top of the estimated prompt tokens. */
  cachedTokens?: number
  /**
   * Cache-write prompt tokens, on top of the estimated prompt tokens: Anthropic's 5-minute cache,
   * OpenAI's `cache_write_tokens` (chat and Responses).
   */
  cacheCreationTokens?: number
  /** Anthropic cache-write prompt tokens of the 1-hour cache, on top of the estimated prompt tokens. */
  cacheCreation1hTokens?: number
  /** OpenAI audio models: audio prompt tokens, on top of the estimated (text) prompt tokens. */
  audioInputTokens?: number
  /** OpenAI audio models: audio output tokens, counted in the output on top of the words. */
  audioOutputTokens?: number
  /** Hidden reasoning tokens, counted in the output tokens on top of the words. */
  reasoningTokens?: number
  /** Anthropic: web searches the server tool ran (`usage.server_tool_use.web_search_requests`). */
  webSearchRequests?: number
  /** Anthropic: the region inference ran in (`usage.inference_geo`), e.g. `us`; default `global`. */
  inferenceGeo?: string
}

/** BEHAVIOUR_HEADERS maps each Behaviour field to the request header that sets it. */
export const BEHAVIOUR_HEADERS = {
  delayMs: 'x-fake-delay-ms',
  chunkDelayMs: 'x-fake-chunk-delay-ms',
  fail: 'x-fake-fail',
  retryAfter: 'x-fake-retry-after',
  failTimes: 'x-fake-fail-times',
  scenario: 'x-fake-scenario',
  stallAfter: 'x-fake-stall-after',
  cutAfter: 'x-fake-cut-after',
  outputTokens: 'x-fake-output-tokens',
  cachedTokens: 'x-fake-cached-tokens',
  cacheCreationTokens: 'x-fake-cache-creation-tokens',
  cacheCreation1hTokens: 'x-fake-cache-creation-1h-tokens',
  audioInputTokens: 'x-fake-audio-input-tokens',
  audioOutputTokens: 'x-fake-audio-output-tokens',
  reasoningTokens: 'x-fake-reasoning-tokens',
  webSearchRequests: 'x-fake-web-search-requests',
  inferenceGeo: 'x-fake-inference-geo',
} as const satisfies Record<keyof Behaviour, string>

/** InvalidBehaviourError says which control header or field had a value the fake cannot use. */
export class InvalidBehaviourError extends Error {
  readonly code = 'TOLLGATE_ERR_FAKE_BEHAVIOUR'
  constructor(field: keyof Behaviour, value: unknown) {
    super(`fake provider: invalid ${BEHAVIOUR_HEADERS[field]} (${field}): ${JSON.stringify(value)}`)
  }
}

type Raw = string | number

const count = (field: keyof Behaviour, raw: Raw): number => {
  const value = Number(raw)
  if (String(raw).trim() === '' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidBehaviourError(field, raw)
  }
  return value
}

const seconds = (field: keyof Behaviour, raw: Raw): number => {
  const value = Number(raw)
  if (String(raw).trim() === '' || !Number.isFinite(value) || value < 0)
    throw new InvalidBehaviourError(field, raw)
  return value
}

const status = (field: keyof Behaviour, raw: Raw): number => {
  const value = count(field, raw)
  if (value < 400 || value > 599) throw new InvalidBehaviourError(field, raw)
  return value
}

const PARSERS: { [K in keyof Behaviour]-?: (field: K, raw: Raw) => Behaviour[K] } = {
  delayMs: count,
  chunkDelayMs: count,
  fail: status,
  retryAfter: seconds,
  failTimes: count,
  scenario: (_field, raw) => String(raw),
  stallAfter: count,
  cutAfter: count,
  outputTokens: count,
  cachedTokens: count,
  cacheCreationTokens: count,
  cacheCreation1hTokens: count,
  audioInputTokens: count,
  audioOutputTokens: count,
  reasoningTokens: count,
  webSearchRequests: count,
  inferenceGeo: (_field, raw) => String(raw),
}

const FIELDS = Object.keys(BEHAVIOUR_HEADERS) as (keyof Behaviour)[]

const parseField = <K extends keyof Behaviour>(field: K, raw: Raw): Behaviour[K] =>
  (PARSERS[field] as (field: K, raw: Raw) => Behaviour[K])(field, raw)

/** checkBehaviour validates a Behaviour given in code and returns a copy without unknown fields. */
export const checkBehaviour = (behaviour: Behaviour): Behaviour => {
  const checked: Record<string, unknown> = {}
  for (const field of FIELDS) {
    const raw = behaviour[field]
    if (raw !== undefined) checked[field] = parseField(field, raw)
  }
  return checked as Behaviour
}

/** readBehaviour merges the `x-fake-*` headers of a request over the defaults; throws InvalidBehaviourError. */
export const readBehaviour = (headers: IncomingHttpHeaders, defaults: Behaviour): Behaviour => {
  const merged: Record<string, unknown> = { ...defaults }
  for (const field of FIELDS) {
    const header = headers[BEHAVIOUR_HEADERS[field]]
    const raw = Array.isArray(header) ? header[0] : header
    if (raw !== undefined) merged[field] = parseField(field, raw)
  }
  return merged as Behaviour
}

/** FailureCounter decides whether a request fails, counting `failTimes` per scenario. */
export class FailureCounter {
  #seen = new Map<string, number>()

  /** shouldFail is true when the behaviour asks for a failure and the scenario has failures left. */
  shouldFail(behaviour: Behaviour): boolean {
    if (behaviour.fail === undefined) return false
    if (behaviour.failTimes === undefined) return true
    const scenario = behaviour.scenario ?? ''
    const seen = this.#seen.get(scenario) ?? 0
    this.#seen.set(scenario, seen + 1)
    return seen < behaviour.failTimes
  }

  /** reset forgets every scenario. */
  reset(): void {
    this.#seen.clear()
  }
}
