import type { Watch } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import { Backoff, type BackoffOptions, sleep } from './backoff.ts'
import type { OperatorMetrics } from './metrics.ts'

/** KubeObject is the part of any object an informer needs. */
export interface KubeObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string }
}

/** InformerHandler receives changes; `update` also fires on every periodic re-list (resync). */
export interface InformerHandler<T> {
  add?(object: T): void
  update?(old: T, object: T): void
  delete?(object: T): void
}

export interface InformerOptions<T extends KubeObject> {
  /** Name for logs and metrics, e.g. `tenants`. */
  resource: string
  list: () => Promise<{ items: T[]; resourceVersion: string }>
  watch: Watch
  /** API path of the collection, e.g. `/apis/tollgate.dev/v1alpha1/tenants`. */
  watchPath: string
  watchQuery?: Record<string, string>
  /** A full re-list this often, because watches are known to stop delivering silently. */
  resyncMs: number
  backoff: BackoffOptions
  logger: Logger
  metrics?: OperatorMetrics
}

/** WatchEnd says why one watch request ended. */
type WatchEnd = { rv: string; end: 'closed' | 'gone' | 'error' | 'stopped' | 'expired'; error?: unknown }

/** keyOf is `namespace/name`, or `name` for cluster-scoped objects. */
export const keyOf = (object: KubeObject) =>
  object.metadata?.namespace
    ? `${object.metadata.namespace}/${object.metadata.name}`
    : (object.metadata?.name ?? '')

/**
 * Informer keeps a local copy of one kind of object: list, then watch from the list's
 * resourceVersion. Any error restarts it with backoff and a fresh list; 410 Gone re-lists at
 * once; a periodic re-list catches what a silently stopped watch missed and re-delivers every
 * object to the handlers (resync), so controllers repair drift.
 */
export class Informer<T extends KubeObject> {
  readonly #options: InformerOptions<T>
  readonly #store = new Map<string, T>()
  readonly #handlers: InformerHandler<T>[] = []
  readonly #backoff: Backoff
  #abort = new AbortController()
  #running: Promise<void> | undefined
  #synced = false
  #syncWaiters: (() => void)[] = []

  constructor(options: InformerOptions<T>) {
    this.#options = options
    this.#backoff = new Backoff(options.backoff)
  }

  /** on registers a handler; register before start so the first list reaches it. */
  on(handler: InformerHandler<T>): this {
    this.#handlers.push(handler)
    return this
  }

  get(key: string): T | undefined {
    return this.#store.get(key)
  }

  list(): T[] {
    return [...this.#store.values()]
  }

  get hasSynced(): boolean {
    return this.#synced
  }

  /** waitForSync resolves after the first successful list. */
  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve()
    return new Promise((resolve) => this.#syncWaiters.push(resolve))
  }

  start(): void {
    if (this.#running) return
    this.#abort = new AbortController()
    this.#running = this.#run(this.#abort.signal)
  }

  async stop(): Promise<void> {
    this.#abort.abort()
    await this.#running
    this.#running = undefined
  }

  async #run(signal: AbortSignal): Promise<void> {
    const { resource, logger, metrics } = this.#options
    let reason = 'start'
    while (!signal.aborted) {
      try {
        const { items, resourceVersion } = await this.#options.list()
        if (signal.aborted) return
        metrics?.informerRelists.inc({ resource, reason })
        this.#replace(items)
        this.#markSynced()
        let rv = resourceVersion
        const relistAt = Date.now() + this.#options.resyncMs
        reason = 'periodic'
        while (!signal.aborted && Date.now() < relistAt) {
          const started = Date.now()
          const result = await this.#watchOnce(rv, relistAt - Date.now(), signal)
          if (result.end === 'stopped') return
          if (result.end === 'gone') {
            logger.info({ resource }, 'watch expired (410 Gone): re-listing')
            reason = 'gone'
            break
          }
          if (result.end === 'error') throw result.error
          // A watch that the server closes at once, over and over, is an error in disguise.
          if (result.rv === rv && Date.now() - started < 1000 && result.end === 'closed') {
            throw new Error(`watch of ${resource} closed at once`)
          }
          rv = result.rv
          this.#backoff.reset()
        }
      } catch (error) {
        if (signal.aborted) return
        const delay = this.#backoff.next()
        metrics?.informerRestarts.inc({ resource, reason: errorReason(error) })
        logger.warn({ resource, err: error, retryInMs: delay }, 'informer failed: restarting with backoff')
        reason = 'error'
        await sleep(delay, signal)
      }
    }
  }

  #watchOnce(rv: string, maxMs: number, signal: AbortSignal): Promise<WatchEnd> {
    // Randomised so that watches of many informers and replicas do not all end together.
    const timeoutSeconds = Math.max(
      1,
      Math.min(Math.round(maxMs / 1000), 240 + Math.floor(Math.random() * 60)),
    )
    return new Promise((resolve) => {
      let lastRv = rv
      let settled = false
      let controller: AbortController | undefined
      const finish = (end: WatchEnd['end'], error?: unknown) => {
        if (settled) return
        settled = true
        clearTimeout(watchdog)
        signal.removeEventListener('abort', onAbort)
        controller?.abort()
        resolve({ rv: lastRv, end, error })
      }
      const onAbort = () => finish('stopped')
      signal.addEventListener('abort', onAbort, { once: true })
      // The server ends the watch after timeoutSeconds; this catches a connection that died silently.
      const watchdog = setTimeout(() => finish('expired'), (timeoutSeconds + 15) * 1000)
      watchdog.unref()
      const query = {
        ...this.#options.watchQuery,
        resourceVersion: rv,
        allowWatchBookmarks: true,
        timeoutSeconds,
      }
      this.#options.watch
        .watch(
          this.#options.watchPath,
          query,
          (type: string, object: T & { code?: number; message?: string }) => {
            if (settled) return
            if (type === 'ERROR') {
              if (object?.code === 410) return finish('gone')
              return finish('error', new Error(`watch error ${object?.code}: ${object?.message}`))
            }
            const next = object?.metadata?.resourceVersion
            if (next) lastRv = next
            if (type === 'BOOKMARK') return
            this.#apply(type, object)
          },
          (error: unknown) => {
            if (!error) return finish('closed')
            // The client aborts a watch that was silent for 30s; resuming from lastRv is safe.
            if ((error as Error).name === 'TimeoutError' || (error as Error).name === 'AbortError')
              return finish('expired')
            if ((error as { statusCode?: number }).statusCode === 410) return finish('gone')
            finish('error', error)
          },
        )
        .then(
          (c) => {
            controller = c
            if (settled) c.abort()
          },
          (error) => finish('error', error),
        )
    })
  }

  #apply(type: string, object: T): void {
    const key = keyOf(object)
    const old = this.#store.get(key)
    if (type === 'DELETED') {
      this.#store.delete(key)
      this.#emit((h) => h.delete?.(old ?? object))
      return
    }
    this.#store.set(key, object)
    if (old) this.#emit((h) => h.update?.(old, object))
    else this.#emit((h) => h.add?.(object))
  }

  #replace(items: T[]): void {
    const seen = new Set<string>()
    for (const object of items) {
      const key = keyOf(object)
      seen.add(key)
      const old = this.#store.get(key)
      this.#store.set(key, object)
      if (old) this.#emit((h) => h.update?.(old, object))
      else this.#emit((h) => h.add?.(object))
    }
    for (const [key, old] of this.#store) {
      if (seen.has(key)) continue
      this.#store.delete(key)
      this.#emit((h) => h.delete?.(old))
    }
  }

  #emit(call: (handler: InformerHandler<T>) => void): void {
    for (const handler of this.#handlers) {
      try {
        call(handler)
      } catch (error) {
        this.#options.logger.error({ resource: this.#options.resource, err: error }, 'informer handler threw')
      }
    }
  }

  #markSynced(): void {
    if (this.#synced) return
    this.#synced = true
    for (const resolve of this.#syncWaiters.splice(0)) resolve()
  }
}

function errorReason(error: unknown): string {
  const code = (error as { code?: unknown })?.code
  if (typeof code === 'number') return String(code)
  if (typeof code === 'string') return code
  return (error as Error)?.name ?? 'unknown'
}
