/**
 * BodyBudget bounds the bytes of request bodies one sidecar holds at once (read, parsed, and kept
 * for retries until the call ends), so that many large bodies at the same time cannot run the
 * process out of memory: a call that would pass the bound is answered 503 with retry-after.
 */
export class BodyBudget {
  readonly limit: number
  #used = 0

  constructor(limit: number) {
    this.limit = limit
  }

  /** used is the bytes held now. */
  get used(): number {
    return this.#used
  }

  /** take reserves bytes; false (nothing taken) when they do not fit. */
  take(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false
    this.#used += bytes
    return true
  }

  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes)
  }
}
