import { type BackoffOptions, backoffDelay } from './backoff.ts'

/** WorkQueueOptions: per-item retry backoff. */
export interface WorkQueueOptions {
  backoff: BackoffOptions
}

/**
 * WorkQueue is client-go's rate-limited work queue in small: a key waits in the queue at most
 * once however often it is added (dedupe), a key being processed is never handed to a second
 * worker at the same time (a re-add while processing is replayed after `done`), and failures
 * retry with per-item exponential backoff until `forget`.
 */
export class WorkQueue {
  readonly #queue: string[] = []
  readonly #dirty = new Set<string>()
  readonly #processing = new Set<string>()
  readonly #failures = new Map<string, number>()
  readonly #delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>()
  readonly #waiters: ((key: string | undefined) => void)[] = []
  readonly #idle: (() => void)[] = []
  readonly #options: WorkQueueOptions
  #shuttingDown = false

  constructor(options: WorkQueueOptions) {
    this.#options = options
  }

  /** add queues the key unless it is already waiting. */
  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return
    this.#dirty.add(key)
    if (this.#processing.has(key)) return
    const waiter = this.#waiters.shift()
    if (waiter) {
      this.#dirty.delete(key)
      this.#processing.add(key)
      waiter(key)
      return
    }
    this.#queue.push(key)
  }

  /** addAfter queues the key after ms; of several pending delays for a key the earliest wins. */
  addAfter(key: string, ms: number): void {
    if (this.#shuttingDown) return
    if (ms <= 0) {
      this.add(key)
      return
    }
    const at = Date.now() + ms
    const pending = this.#delayed.get(key)
    if (pending && pending.at <= at) return
    if (pending) clearTimeout(pending.timer)
    const timer = setTimeout(() => {
      this.#delayed.delete(key)
      this.add(key)
    }, ms)
    timer.unref()
    this.#delayed.set(key, { at, timer })
  }

  /** addRateLimited queues the key after its backoff, which grows with each failure. */
  addRateLimited(key: string): number {
    const failures = this.#failures.get(key) ?? 0
    this.#failures.set(key, failures + 1)
    const delay = backoffDelay(failures, this.#options.backoff)
    this.addAfter(key, delay)
    return delay
  }

  /** forget clears the key's failure count after a success. */
  forget(key: string): void {
    this.#failures.delete(key)
  }

  /** requeues is how many times the key failed since it was last forgotten. */
  requeues(key: string): number {
    return this.#failures.get(key) ?? 0
  }

  /** get waits for the next key; undefined once the queue is shut down. Call `done` after. */
  get(): Promise<string | undefined> {
    const key = this.#queue.shift()
    if (key !== undefined) {
      this.#dirty.delete(key)
      this.#processing.add(key)
      return Promise.resolve(key)
    }
    if (this.#shuttingDown) return Promise.resolve(undefined)
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  /** done marks the key processed; a key added meanwhile goes back into the queue. */
  done(key: string): void {
    this.#processing.delete(key)
    if (this.#dirty.has(key)) {
      this.#dirty.delete(key)
      this.add(key)
    }
    if (this.#processing.size === 0) for (const resolve of this.#idle.splice(0)) resolve()
  }

  /** length is the number of keys waiting (the queue depth metric). */
  get length(): number {
    return this.#queue.length
  }

  /** processing is the number of keys being worked on. */
  get processing(): number {
    return this.#processing.size
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown
  }

  /**
   * shutDown stops handing out keys (waiting workers get undefined), drops delayed retries and
   * resolves once every key in progress is done.
   */
  async shutDown(): Promise<void> {
    this.#shuttingDown = true
    for (const { timer } of this.#delayed.values()) clearTimeout(timer)
    this.#delayed.clear()
    this.#queue.length = 0
    this.#dirty.clear()
    for (const waiter of this.#waiters.splice(0)) waiter(undefined)
    if (this.#processing.size > 0) await new Promise<void>((resolve) => this.#idle.push(resolve))
  }
}
