import type { CompiledRetry } from '@tollgate/api'
import type { Clock } from '../limits/clock.ts'
import { backoffDelay } from './backoff.ts'
import type { OutcomeKind } from './outcome.ts'
import { parseRetryAfter } from './retry-after.ts'

export interface RetryContext {
  /** Retries already made: 0 after the first attempt failed. */
  retriesDone: number
  outcome: OutcomeKind
  /** Response headers of the failed attempt, for `retry-after` / `retry-after-ms`. */
  headers?: Readonly<Record<string, string | string[] | number | undefined>>
  /** True once any byte of a response went to the client. Then nothing is ever retried. */
  responseStarted: boolean
}

export type RetryDecision =
  | { retry: true; delayMs: number }
  | {
      retry: false
      reason: 'response-started' | 'not-retryable' | 'attempts-exhausted' | 'retry-after-too-long'
    }

export interface RetryPolicyOptions {
  random?: () => number
  clock?: Clock
}

/**
 * RetryPolicy decides whether a failed attempt is tried again and after how long:
 * - never once a response byte reached the client (the caller says so), whatever else holds;
 * - only outcomes listed in the policy's `on` (429, 5xx, connect, timeout);
 * - at most `attempts` retries after the first try;
 * - waiting full-jitter exponential backoff from `baseMs`, capped at `maxMs`;
 * - with `respectRetryAfter`, at least as long as the provider's Retry-After asks; when that is
 *   longer than `maxMs` the provider's answer goes to the client instead (with its Retry-After)
 *   rather than holding the request that long.
 */
export class RetryPolicy {
  #config: CompiledRetry
  #random: () => number
  #clock: Clock

  constructor(config: CompiledRetry, options: RetryPolicyOptions = {}) {
    this.#config = config
    this.#random = options.random ?? Math.random
    this.#clock = options.clock ?? Date.now
  }

  decide(context: RetryContext): RetryDecision {
    if (context.responseStarted) return { retry: false, reason: 'response-started' }
    const { outcome } = context
    if (outcome === 'success' || outcome === 'aborted' || !this.#config.on.includes(outcome)) {
      return { retry: false, reason: 'not-retryable' }
    }
    if (context.retriesDone >= this.#config.attempts) return { retry: false, reason: 'attempts-exhausted' }
    let delayMs = backoffDelay(context.retriesDone, this.#config.baseMs, this.#config.maxMs, this.#random)
    if (this.#config.respectRetryAfter && context.headers) {
      const asked = parseRetryAfter(context.headers, this.#clock())
      if (asked !== undefined) {
        if (asked > this.#config.maxMs) return { retry: false, reason: 'retry-after-too-long' }
        delayMs = Math.max(delayMs, asked)
      }
    }
    return { retry: true, delayMs }
  }
}
