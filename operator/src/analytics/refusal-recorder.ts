import type { CallEvent } from '@tollgate/api'
import type { Logger } from 'pino'
import type { LiveState } from './live-state.ts'
import type { RefusalStore } from './refusal-store.ts'

/**
 * RefusalRecorder copies the refused calls of every tenant's feed into Postgres (RefusalStore),
 * each round from the last entry it read. Entries are keyed by their stream id, so a round read
 * twice (a restart, a new leader reading the whole feed again) stores each once. The feed keeps
 * about FEED_MAX_LENGTH entries: a tenant that makes more calls than that between two rounds
 * (`intervalMs`) loses the refusals among the oldest, which docs/console.md states.
 */
export class RefusalRecorder {
  readonly #live: LiveState
  readonly #store: RefusalStore
  readonly #tenants: () => string[]
  readonly #logger: Logger
  readonly #intervalMs: number
  readonly #cursor = new Map<string, string>()
  #timer: NodeJS.Timeout | undefined
  #round: Promise<void> | undefined

  constructor(o: {
    live: LiveState
    store: RefusalStore
    tenants: () => string[]
    logger: Logger
    intervalMs: number
  }) {
    this.#live = o.live
    this.#store = o.store
    this.#tenants = o.tenants
    this.#logger = o.logger
    this.#intervalMs = o.intervalMs
  }

  start(): void {
    const tick = () => {
      this.#round = this.round()
        .catch((error) => this.#logger.debug({ err: error }, 'refusals not recorded; next round'))
        .finally(() => {
          if (this.#timer) this.#timer = setTimeout(tick, this.#intervalMs)
        })
    }
    this.#timer = setTimeout(tick, 0)
  }

  /** round reads each tenant's new feed entries and stores the refusals among them. */
  async round(): Promise<void> {
    for (const tenant of this.#tenants()) {
      let cursor = this.#cursor.get(tenant) ?? '-'
      for (;;) {
        const items = await this.#live.after(tenant, cursor, 500)
        if (items.length === 0) break
        const refused = items.flatMap(({ id, event }) =>
          event.type === 'call' && event.refusedBy
            ? [{ id, event: event as CallEvent & { refusedBy: string } }]
            : [],
        )
        await this.#store.add(tenant, refused)
        cursor = (items.at(-1) as { id: string }).id
        this.#cursor.set(tenant, cursor)
        if (items.length < 500) break
      }
    }
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#round
  }
}
