import type { RedisClient } from '../config/redis-client.ts'
import { LuaScript } from '../limits/lua-script.ts'
import { lazily } from '../resilience/lazily.ts'

const STORE = LuaScript.fromFile(new URL('./cache-store.lua', import.meta.url))

/** The longest a stored entry waits to share its write with others. */
const WRITE_BEHIND_MS = 2
/** A tenant's batch is sent at once when its entries pass this many bytes. */
const MAX_BATCH_BYTES = 1024 * 1024

interface Batch {
  keys: string[]
  args: (Buffer | number)[]
  bytes: number
  /** Settled when the batch was written (true) or failed (false). */
  done: PromiseWithResolvers<boolean>
}

/**
 * RedisEntryWriter writes cache entries behind the calls that stored them: the entries of one
 * tenant stored within WRITE_BEHIND_MS go to Redis in one cache-store.lua call, sent as a lazy
 * command (it rides with the next write a call waits for). A call then costs the sidecar part
 * of one command instead of a SET of its own. `write` settles once the entry's batch was written;
 * a failed batch is reported to onError and settles false: the cache is best effort.
 */
export class RedisEntryWriter {
  readonly #redis: RedisClient
  readonly #onError: (error: unknown) => void
  #batches = new Map<string, Batch>()
  #timer: NodeJS.Timeout | undefined

  constructor(redis: RedisClient, onError: (error: unknown) => void) {
    this.#redis = redis
    this.#onError = onError
  }

  /** write queues one entry under `tenant`'s batch; all keys of a batch must share a hash slot. */
  write(tenant: string, key: string, value: Buffer, ttlMs: number): Promise<boolean> {
    let batch = this.#batches.get(tenant)
    if (!batch) {
      batch = { keys: [], args: [], bytes: 0, done: Promise.withResolvers<boolean>() }
      this.#batches.set(tenant, batch)
    }
    batch.keys.push(key)
    batch.args.push(value, ttlMs)
    batch.bytes += value.length
    if (batch.bytes >= MAX_BATCH_BYTES) this.#send(tenant, batch)
    else this.#timer ??= setTimeout(this.#flush, WRITE_BEHIND_MS)
    return batch.done.promise
  }

  #flush = () => {
    this.#timer = undefined
    for (const [tenant, batch] of this.#batches) this.#send(tenant, batch)
  }

  #send(tenant: string, batch: Batch): void {
    this.#batches.delete(tenant)
    const redis = this.#redis
    lazily(redis, () => STORE.run(redis, batch.keys, batch.args)).then(
      () => batch.done.resolve(true),
      (error: unknown) => {
        this.#onError(error)
        batch.done.resolve(false)
      },
    )
  }
}
