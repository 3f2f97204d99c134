import type { Logger } from 'pino'
import type { BackoffOptions } from './backoff.ts'
import type { OperatorMetrics } from './metrics.ts'
import { WorkQueue } from './work-queue.ts'

/** ReconcileResult: nothing, or ask to be called again after a while (e.g. at a budget reset). */
export type ReconcileResult = { requeueAfterMs?: number } | undefined

/** Reconciler brings the world in line with one object, named by its key. Throw to retry with backoff. */
export type Reconciler = (key: string) => Promise<ReconcileResult>

export interface ControllerOptions {
  name: string
  reconcile: Reconciler
  /** Keys reconciled at once; one key is never reconciled twice at the same time. */
  workers: number
  backoff: BackoffOptions
  logger: Logger
  metrics?: OperatorMetrics
}

/**
 * Controller runs a bounded number of workers over a deduping work queue: informer handlers
 * call `enqueue`, workers call the reconciler, failures come back with per-key backoff.
 */
export class Controller {
  readonly name: string
  readonly queue: WorkQueue
  readonly #options: ControllerOptions
  #workers: Promise<void>[] = []

  constructor(options: ControllerOptions) {
    this.name = options.name
    this.#options = options
    this.queue = new WorkQueue({ backoff: options.backoff })
  }

  enqueue(key: string): void {
    if (this.queue.shuttingDown) return
    this.#options.metrics?.queueAdds.inc({ controller: this.name })
    this.queue.add(key)
    this.#updateDepth()
  }

  enqueueAfter(key: string, ms: number): void {
    this.queue.addAfter(key, ms)
  }

  start(): void {
    for (let i = 0; i < this.#options.workers; i++) this.#workers.push(this.#work())
  }

  /** stop lets reconciles in progress finish, then returns. */
  async stop(): Promise<void> {
    await this.queue.shutDown()
    await Promise.all(this.#workers)
    this.#workers = []
  }

  async #work(): Promise<void> {
    const { metrics, logger } = this.#options
    const controller = this.name
    for (;;) {
      const key = await this.queue.get()
      if (key === undefined) return
      this.#updateDepth()
      const end = metrics?.reconcileDuration.startTimer({ controller })
      try {
        const result = await this.#options.reconcile(key)
        this.queue.forget(key)
        if (result?.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs)
        metrics?.reconciles.inc({ controller, result: result?.requeueAfterMs ? 'requeue' : 'success' })
      } catch (error) {
        const code = (error as { code?: unknown })?.code
        metrics?.reconciles.inc({ controller, result: 'error' })
        metrics?.reconcileErrors.inc({ controller, code: typeof code === 'string' ? code : 'unknown' })
        metrics?.queueRetries.inc({ controller })
        const delay = this.queue.addRateLimited(key)
        logger.warn({ controller, key, err: error, retryInMs: delay }, 'reconcile failed')
      } finally {
        end?.()
        this.queue.done(key)
        this.#updateDepth()
      }
    }
  }

  #updateDepth(): void {
    this.#options.metrics?.queueDepth.set({ controller: this.name }, this.queue.length)
  }
}
