import {
  correctionInstance,
  keys,
  type UsageCounter,
  usageField,
  usageHour,
} from '@tollgate/api/redis-keys.ts'
import type { RedisClient } from '../config/redis-client.ts'
import { LuaScript } from '../limits/lua-script.ts'
import type { MemoryStore } from '../limits/memory-store.ts'
import type { UsageRecorder } from '../usage/usage-recorder.ts'

/**
 * DeferredEntry is what a deferred call (a governed batch, a background Response) was charged
 * when it was submitted, kept until its final usage is read: the counters its usage record
 * carried at the estimate, and the spend counters the estimate went to.
 */
export interface DeferredEntry {
  provider: string
  model: string
  namespace: string
  /** Workload and end user of the call (absent in entries of older sidecars: ''). */
  workload?: string
  user?: string
  /** When its usage was recorded, epoch ms: the hour it counts in. */
  at: number
  /** A batch: billed at the batch price. */
  batch: boolean
  counters: Partial<Record<UsageCounter, number>>
  spend: string[]
}

/** SettleOutcome: corrected, or nothing to settle (settled already, or not deferred here). */
export type SettleOutcome = 'settled' | 'gone'

/**
 * DeferredCalls keeps deferred calls until their final usage replaces their estimate, exactly
 * once whichever replica reads the report and however often: RedisDeferredCalls for sidecars
 * sharing Redis, MemoryDeferredCalls in standalone mode.
 */
export interface DeferredCalls {
  /** Whose spend counters it can move: a reservation's of the same limiter backend. */
  readonly backend: 'redis' | 'memory'
  submitted(tenant: string, id: string, entry: DeferredEntry): Promise<void>
  /** pending is the entry of a call still waiting for its usage, if any. */
  pending(tenant: string, provider: string, id: string): Promise<DeferredEntry | undefined>
  /** settle replaces the entry's counters by final ones and moves its spend by spendDelta. */
  settle(
    tenant: string,
    id: string,
    entry: DeferredEntry,
    final: Partial<Record<UsageCounter, number>>,
    spendDelta: number,
  ): Promise<SettleOutcome>
}

/**
 * DEFERRED_TTL_MS is how long a deferred call waits for its report: OpenAI keeps a batch's
 * output for 30 days and Anthropic a message batch's results for 29. After it, the estimate stands.
 */
export const DEFERRED_TTL_MS = 30 * 24 * 3_600_000

/** deltas are the counter changes from what the entry recorded to the final counters. */
export function counterDeltas(
  entry: DeferredEntry,
  final: Partial<Record<UsageCounter, number>>,
): [UsageCounter, number][] {
  const names = new Set([...Object.keys(entry.counters), ...Object.keys(final)]) as Set<UsageCounter>
  return [...names]
    .map((c): [UsageCounter, number] => [c, Math.round((final[c] ?? 0) - (entry.counters[c] ?? 0))])
    .filter(([, d]) => d !== 0)
}

const isEntry = (v: unknown): v is DeferredEntry => {
  const e = v as DeferredEntry
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.provider === 'string' &&
    typeof e.model === 'string' &&
    typeof e.namespace === 'string' &&
    Number.isSafeInteger(e.at) &&
    typeof e.batch === 'boolean' &&
    typeof e.counters === 'object' &&
    e.counters !== null &&
    Array.isArray(e.spend) &&
    e.spend.every((k) => typeof k === 'string')
  )
}

const SETTLE = LuaScript.fromFile(new URL('./settle-deferred.lua', import.meta.url))

/** RedisDeferredCalls keeps entries as JSON under keys.deferred; settle-deferred.lua settles them. */
export class RedisDeferredCalls implements DeferredCalls {
  readonly backend = 'redis'
  readonly #redis: RedisClient

  constructor(redis: RedisClient) {
    this.#redis = redis
  }

  async submitted(tenant: string, id: string, entry: DeferredEntry): Promise<void> {
    await this.#redis.set(
      keys.deferred(tenant, entry.provider, id),
      JSON.stringify(entry),
      'PX',
      DEFERRED_TTL_MS,
    )
  }

  async pending(tenant: string, provider: string, id: string): Promise<DeferredEntry | undefined> {
    const raw = await this.#redis.get(keys.deferred(tenant, provider, id))
    if (raw === null) return undefined
    try {
      const entry: unknown = JSON.parse(raw)
      return isEntry(entry) ? entry : undefined
    } catch {
      return undefined
    }
  }

  async settle(
    tenant: string,
    id: string,
    entry: DeferredEntry,
    final: Partial<Record<UsageCounter, number>>,
    spendDelta: number,
  ): Promise<SettleOutcome> {
    const hour = usageHour(new Date(entry.at))
    const instance = correctionInstance(`${entry.provider}/${id}`)
    const fields = counterDeltas(entry, final).flatMap(([counter, delta]) => [
      usageField(entry.provider, entry.model, entry.namespace, counter, instance, {
        workload: entry.workload ?? '',
        user: entry.user ?? '',
      }),
      delta,
    ])
    const result = await SETTLE.run(
      this.#redis,
      [
        keys.deferred(tenant, entry.provider, id),
        keys.usage(tenant, hour),
        keys.usageHours(tenant),
        ...entry.spend,
      ],
      [hour, Math.round(spendDelta), ...fields],
    )
    return result === 1 ? 'settled' : 'gone'
  }
}

/**
 * MemoryDeferredCalls is the standalone sidecar's: entries in the process, settled into its usage
 * recorder (as a correction in the submission's hour) and its limiter's spend counters.
 */
export class MemoryDeferredCalls implements DeferredCalls {
  readonly backend = 'memory'
  readonly #entries = new Map<string, DeferredEntry>()
  readonly #recorder: UsageRecorder
  readonly #store: MemoryStore

  constructor(recorder: UsageRecorder, store: MemoryStore) {
    this.#recorder = recorder
    this.#store = store
  }

  async submitted(tenant: string, id: string, entry: DeferredEntry): Promise<void> {
    this.#entries.set(keys.deferred(tenant, entry.provider, id), entry)
  }

  async pending(tenant: string, provider: string, id: string): Promise<DeferredEntry | undefined> {
    const key = keys.deferred(tenant, provider, id)
    const entry = this.#entries.get(key)
    if (entry && Date.now() - entry.at > DEFERRED_TTL_MS) this.#entries.delete(key)
    return this.#entries.get(key)
  }

  async settle(
    tenant: string,
    id: string,
    entry: DeferredEntry,
    final: Partial<Record<UsageCounter, number>>,
    spendDelta: number,
  ): Promise<SettleOutcome> {
    const now = Date.now()
    if (!this.#entries.delete(keys.deferred(tenant, entry.provider, id))) return 'gone'
    this.#recorder.record({
      at: entry.at,
      provider: entry.provider,
      model: entry.model,
      namespace: entry.namespace,
      workload: entry.workload ?? '',
      user: entry.user ?? '',
      counters: Object.fromEntries(counterDeltas(entry, final)),
    })
    for (const key of entry.spend) {
      if (spendDelta === 0 || this.#store.get(key, now) === undefined) continue
      if (this.#store.incrBy(key, spendDelta, now, now) < 0) this.#store.set(key, 0, now)
    }
    return 'settled'
  }
}
