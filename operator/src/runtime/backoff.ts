/** BackoffOptions shape an exponential backoff: base * factor^attempt, capped at max. */
export interface BackoffOptions {
  baseMs: number
  maxMs: number
  factor?: number
  /** Fraction of the delay added at random (0..jitter), so retries of many items spread out. */
  jitter?: number
}

/**
 * backoffDelay is the delay before retry number `attempt` (0 for the first retry). It never
 * exceeds maxMs, jitter included, and never overflows for large attempt counts.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random) {
  const factor = options.factor ?? 2
  const exponent = Math.min(Math.max(attempt, 0), 64)
  const raw = Math.min(options.baseMs * factor ** exponent, options.maxMs)
  const jittered = raw * (1 + (options.jitter ?? 0) * random())
  return Math.min(Math.round(jittered), options.maxMs)
}

/** Backoff counts consecutive failures of one thing (a watch, a lease) and says how long to wait. */
export class Backoff {
  #attempt = 0
  readonly #options: BackoffOptions
  constructor(options: BackoffOptions) {
    this.#options = options
  }
  /** next returns the delay for the next retry and counts the failure. */
  next(): number {
    return backoffDelay(this.#attempt++, this.#options)
  }
  /** reset forgets the failures after a success. */
  reset(): void {
    this.#attempt = 0
  }
  get attempts(): number {
    return this.#attempt
  }
}

/** sleep waits ms, or less when the signal aborts (it then resolves, never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}
