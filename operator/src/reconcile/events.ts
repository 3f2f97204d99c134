import type { CoreV1Api } from '@kubernetes/client-node'
import type { Logger } from 'pino'

/** EventTarget names the object an Event is about. */
export interface EventTarget {
  apiVersion: string
  kind: string
  name: string
  namespace?: string
  uid?: string
}

/** How long an identical event is not repeated. */
const DEDUPE_MS = 10 * 60_000
/** Events of cluster-scoped objects go to this namespace, as client-go's recorder does. */
const CLUSTER_EVENT_NAMESPACE = 'default'

/**
 * EventRecorder writes core/v1 Events (what `kubectl describe` shows). It drops an event that
 * repeats the last one of the same object and reason within ten minutes, so a reconcile loop over
 * an unchanged problem does not flood the API server.
 */
export class EventRecorder {
  readonly #core: CoreV1Api
  readonly #logger: Logger
  readonly #component: string
  readonly #recent = new Map<string, { message: string; at: number }>()

  constructor(core: CoreV1Api, logger: Logger, component = 'tollgate-operator') {
    this.#core = core
    this.#logger = logger
    this.#component = component
  }

  /** event records best effort: a failure is logged, never thrown. */
  async event(
    target: EventTarget,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const key = `${target.kind}/${target.namespace ?? ''}/${target.name}/${target.uid ?? ''}/${reason}`
    const last = this.#recent.get(key)
    const now = Date.now()
    if (last && last.message === message && now - last.at < DEDUPE_MS) return
    this.#recent.set(key, { message, at: now })
    if (this.#recent.size > 10_000) this.#prune(now)
    try {
      await this.create(target, type, reason, message)
    } catch (error) {
      this.#recent.delete(key)
      this.#logger.warn({ err: error, reason, name: target.name }, 'could not record event')
    }
  }

  /** create writes one Event unconditionally and throws on failure (for callers that retry). */
  async create(
    target: EventTarget,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const namespace = target.namespace ?? CLUSTER_EVENT_NAMESPACE
    const now = new Date()
    await this.#core.createNamespacedEvent({
      namespace,
      body: {
        metadata: {
          name: `${target.name}.${now.getTime().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`,
          namespace,
        },
        involvedObject: {
          apiVersion: target.apiVersion,
          kind: target.kind,
          name: target.name,
          ...(target.namespace && { namespace: target.namespace }),
          ...(target.uid && { uid: target.uid }),
        },
        type,
        reason,
        message: message.slice(0, 1024),
        source: { component: this.#component },
        reportingComponent: this.#component,
        reportingInstance: this.#component,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    })
  }

  #prune(now: number): void {
    for (const [key, { at }] of this.#recent) if (now - at >= DEDUPE_MS) this.#recent.delete(key)
  }
}
