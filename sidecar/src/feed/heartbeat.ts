import { HEARTBEAT_INTERVAL_MS, type SidecarHeartbeat } from '@tollgate/api/feed.ts'
import { keys } from '@tollgate/api/redis-keys.ts'
import type { RedisClient } from '../config/redis-client.ts'

/**
 * Heartbeat writes what this sidecar process says of itself (SidecarHeartbeat) into its tenant's
 * heartbeat hash every HEARTBEAT_INTERVAL_MS (HSET, the field is the instance). The operator reads
 * the hash, drops heartbeats older than HEARTBEAT_STALE_MS and shows the rest. A failed write is
 * left for the next beat.
 */
export class Heartbeat {
  readonly #client: RedisClient
  readonly #key: string
  readonly #read: () => SidecarHeartbeat
  #timer: NodeJS.Timeout | undefined

  constructor(opts: { client: RedisClient; tenant: string; read: () => SidecarHeartbeat }) {
    this.#client = opts.client
    this.#key = keys.heartbeats(opts.tenant)
    this.#read = opts.read
  }

  start(): void {
    // the first beat as soon as there is a connection (managed mode connects after the exchange)
    this.#client.on('ready', this.#onReady)
    void this.beat()
    this.#timer = setInterval(() => void this.beat(), HEARTBEAT_INTERVAL_MS)
    this.#timer.unref()
  }

  async beat(): Promise<void> {
    // Never the first command of a connection: a lazy client (managed mode) would connect on it,
    // before the exchange gave it its Redis user, and its owner's own connect() would then fail.
    if (this.#client.status !== 'ready') return
    const beat = this.#read()
    await this.#client.hset(this.#key, beat.instance, JSON.stringify(beat)).catch(() => {})
  }

  readonly #onReady = () => void this.beat()

  stop(): void {
    this.#client.off('ready', this.#onReady)
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
  }
}
