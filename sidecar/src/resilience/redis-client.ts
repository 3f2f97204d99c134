import type { Socket } from 'node:net'
import { clusterSeed, type RedisMode } from '@tollgate/api/redis-mode.ts'
import { Cluster, type Command, Redis } from 'ioredis'
import { CLUSTER_FAIL_FAST, connectMasters, type RedisClient } from '../config/redis-client.ts'
import type { LazyWriter } from './lazily.ts'

export interface DataRedisOptions {
  /** `redis://[user:pass@]host:port[/db]`; in cluster mode a seed node. */
  url: string
  /** single (default) or cluster. */
  mode?: RedisMode
  /** A command without a reply after this long fails. Default 500 ms. */
  commandTimeoutMs?: number
  /** A connection attempt that takes longer is abandoned and retried. Default 1000 ms. */
  connectTimeoutMs?: number
  /** Longest wait between reconnection attempts. Default 2000 ms. */
  maxReconnectDelayMs?: number
  /** CLIENT SETNAME, to find the sidecar in CLIENT LIST. */
  connectionName?: string
  /** A lazy command (see `lazily`) waits at most this long to share a write. Default 2 ms. */
  lazyWriteMs?: number
  /** Connect only on `client.connect()` (managed mode: once the exchange gave a Redis user). */
  lazyConnect?: boolean
}

/** RedisState is what `/readyz` and the `tollgate_redis_up` metric report. */
export type RedisState = 'up' | 'down'

/** reconnectDelay is exponential from 50 ms, capped, with up to 100 ms of jitter. */
export const reconnectDelay = (attempt: number, maxMs: number, random: () => number = Math.random) =>
  Math.min(50 * 2 ** Math.min(attempt, 16), maxMs) + Math.floor(random() * 100)

/**
 * CoalescingRedis batches commands into few socket writes, because on a busy machine a write
 * (and the Redis wake-up it causes) is most of what a command costs the client. The first command
 * corks the socket. An urgent command (one a call waits for: a reservation, a cache read) uncorks
 * it right after the current turn of the event loop, so every command issued in that turn, by
 * any call, goes out in one write. A lazy command (one nobody waits for: a settlement, a cache
 * write; see `lazily`) waits up to `lazyWriteMs` to ride with the next urgent write. Commands
 * keep their order on the connection, their own replies, timeouts and errors.
 */
class CoalescingRedis extends Redis implements LazyWriter {
  lazyWriteMs = 2
  #lazy = false
  #corked: Socket | undefined
  #soon: NodeJS.Immediate | undefined
  #later: NodeJS.Timeout | undefined

  lazily<T>(send: () => T): T {
    this.#lazy = true
    try {
      return send()
    } finally {
      this.#lazy = false
    }
  }

  override sendCommand(command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    const socket = this.stream as Socket | undefined
    if (!stream && this.status === 'ready' && socket) {
      if (this.#corked !== socket) {
        this.#flush()
        socket.cork()
        this.#corked = socket
      }
      if (!this.#lazy) this.#soon ??= setImmediate(this.#flush)
      else if (!this.#soon) this.#later ??= setTimeout(this.#flush, this.lazyWriteMs)
    }
    return super.sendCommand(command, stream)
  }

  #flush = () => {
    clearImmediate(this.#soon)
    clearTimeout(this.#later)
    this.#soon = undefined
    this.#later = undefined
    this.#corked?.uncork()
    this.#corked = undefined
  }
}

/**
 * DataRedis is the sidecar's data-plane Redis connection, built so that nothing waits on a Redis
 * that is gone: no offline queue (a command while disconnected fails at once), a short command
 * timeout, no retry of a command across reconnects (a reserve must never run twice), a socket
 * timeout that tears down a connection whose server stopped answering, and reconnection with
 * capped backoff forever. `isUp()` is true only while the connection is ready. Commands of one
 * turn of the event loop share one socket write (CoalescingRedis) on a single node; a cluster
 * client writes each command to its slot's master as it comes (ioredis builds the node
 * connections itself) and fails fast while a master fails over (CLUSTER_FAIL_FAST), so the
 * policy's failureMode decides for the tenants of that master's slots until its replica serves.
 */
export class DataRedis {
  readonly client: RedisClient
  #up = false
  #closed = false
  #lastError: Error | undefined
  #listeners = new Set<(state: RedisState) => void>()

  constructor(options: DataRedisOptions) {
    const commandTimeout = options.commandTimeoutMs ?? 500
    const maxDelay = options.maxReconnectDelayMs ?? 2_000
    const node = {
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout,
      // Armed only while replies are outstanding: a server that stopped (SIGSTOP, partition) is
      // detected and the connection rebuilt instead of timing out command after command.
      socketTimeout: commandTimeout * 2,
      connectTimeout: options.connectTimeoutMs ?? 1_000,
      // The ready check runs INFO, which a tenant's Redis user may not.
      enableReadyCheck: false,
      ...(options.connectionName && { connectionName: options.connectionName }),
    }
    const retry = (attempt: number) => (this.#closed ? null : reconnectDelay(attempt, maxDelay))
    if (options.mode === 'cluster') {
      const { seed, options: auth } = clusterSeed(options.url)
      const cluster = new Cluster([seed], {
        ...CLUSTER_FAIL_FAST,
        enableOfflineQueue: false,
        lazyConnect: options.lazyConnect ?? false,
        clusterRetryStrategy: retry,
        redisOptions: { ...node, ...auth },
      })
      this.client = cluster
      this.#followNodes(cluster)
    } else {
      const client = new CoalescingRedis(options.url, {
        ...node,
        enableOfflineQueue: false,
        lazyConnect: options.lazyConnect ?? false,
        retryStrategy: retry,
      })
      client.lazyWriteMs = options.lazyWriteMs ?? 2
      this.client = client
    }
    if (!(this.client instanceof Cluster)) this.client.on('ready', () => this.#set(true))
    for (const event of ['close', 'end', 'reconnecting'] as const)
      this.client.on(event, () => this.#set(false))
    // Without a listener an 'error' event would crash the process; the state tells the story.
    this.client.on('error', (error: Error) => {
      this.#lastError = error
    })
  }

  /**
   * #followNodes makes a cluster client up only while it has the slot map and a ready connection
   * to every master (connectMasters).
   */
  #followNodes(cluster: Cluster): void {
    connectMasters(cluster, () =>
      this.#set(cluster.status === 'ready' && cluster.nodes('master').every((n) => n.status === 'ready')),
    )
  }

  /** isUp is true while commands can be sent. */
  isUp(): boolean {
    return this.#up
  }

  state(): RedisState {
    return this.#up ? 'up' : 'down'
  }

  /** lastError is the most recent connection error, for `/readyz` details. */
  lastError(): Error | undefined {
    return this.#lastError
  }

  /** onChange calls the listener on every up/down transition; returns an unsubscribe function. */
  onChange(listener: (state: RedisState) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** waitUntilUp resolves once the connection is ready, or rejects after timeoutMs. */
  waitUntilUp(timeoutMs: number): Promise<void> {
    if (this.#up) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off()
        reject(new Error('wait for Redis', { cause: this.#lastError }))
      }, timeoutMs)
      const off = this.onChange((state) => {
        if (state !== 'up') return
        clearTimeout(timer)
        off()
        resolve()
      })
    })
  }

  /** close ends the connection for good; no reconnection follows. */
  async close(): Promise<void> {
    this.#closed = true
    this.client.disconnect(false)
    this.#set(false)
  }

  #set(up: boolean) {
    if (this.#up === up) return
    this.#up = up
    for (const listener of this.#listeners) listener(up ? 'up' : 'down')
  }
}
