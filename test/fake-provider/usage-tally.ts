// What the fake billed: per API key, the calls it received and the tokens it reported, so that a
// test can hold Tollgate's recorded spend against the provider's side. Keys are never kept: each
// is known by a hash and its last four characters.
import { createHash } from 'node:crypto'

/** KeyUsage is the tally of one API key. */
export interface KeyUsage {
  /** First 16 hex digits of the key's sha256; null for requests without a key; 'other' past MAX_KEYS. */
  keyHash: string | null
  /** The key's last four characters (as providers' dashboards show them); null without a key. */
  last4: string | null
  /** Requests that carried the key, whatever their answer. */
  calls: number
  /** Tokens as the answers' usage reported them: OpenAI prompt_tokens / input_tokens (cached included), Anthropic input_tokens. */
  inputTokens: number
  outputTokens: number
  /** The same per model the request named (past MAX_MODELS, under 'other'), with the cached part of the input apart. */
  models: Record<string, ModelUsage>
}

/** ModelUsage is one key's tally for one model. */
export interface ModelUsage {
  /** The API the model was called through: openai or anthropic. */
  provider: string
  calls: number
  inputTokens: number
  cachedInputTokens: number
  outputTokens: number
}

/** MAX_MODELS bounds the models kept per key. */
export const MAX_MODELS = 64

/** MAX_KEYS bounds the memory: keys beyond it are tallied together under `keyHash: 'other'`. */
export const MAX_KEYS = 256

/** keyHash is how the tally names a key: the first 16 hex digits of its sha256. */
export const keyHash = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 16)

/** UsageTally keeps running totals per key: constant memory per key, nothing per request. */
export class UsageTally {
  #byKey = new Map<string | null, KeyUsage>()

  /** call counts one request carrying key (undefined: none) and returns the tally its usage goes to. */
  call(key: string | undefined): KeyUsage {
    let hash = key === undefined ? null : keyHash(key)
    if (!this.#byKey.has(hash) && this.#byKey.size >= MAX_KEYS) hash = 'other'
    let usage = this.#byKey.get(hash)
    if (!usage) {
      const last4 = key === undefined || hash === 'other' ? null : key.slice(-4)
      usage = { keyHash: hash, last4, calls: 0, inputTokens: 0, outputTokens: 0, models: {} }
      this.#byKey.set(hash, usage)
    }
    usage.calls++
    return usage
  }

  /**
   * report adds what one answer's usage reported to a key's tally and to its model's: input
   * includes the cached part, as OpenAI's prompt_tokens do.
   */
  report(
    usage: KeyUsage,
    provider: string,
    model: string,
    tokens: { input: number; cached: number; output: number },
  ): void {
    usage.inputTokens += tokens.input
    usage.outputTokens += tokens.output
    const name = model in usage.models || Object.keys(usage.models).length < MAX_MODELS ? model : 'other'
    const m = usage.models[name] ?? {
      provider,
      calls: 0,
      inputTokens: 0,
      cachedInputTokens: 0,
      outputTokens: 0,
    }
    usage.models[name] = m
    m.calls++
    m.inputTokens += tokens.input
    m.cachedInputTokens += tokens.cached
    m.outputTokens += tokens.output
  }

  /** snapshot copies every key's tally, in the order the keys were first seen. */
  snapshot(): KeyUsage[] {
    return [...this.#byKey.values()].map((usage) => structuredClone(usage))
  }

  /** reset forgets every tally. */
  reset(): void {
    this.#byKey.clear()
  }
}
