import { type Command, Redis } from 'ioredis'

export interface DataRedisOptions {
  /** `redis://[user:pass@]host:port[/db]`. */
  url: string
  /** A command without a reply after this long fails. Default 500 ms. */
  commandTimeoutMs?: number
  /** A connection attempt that takes longer is abandoned and retried. Default 1000 ms. */
  connectTimeoutMs?: number
  /** Longest wait between reconnection attempts. Default 2000 ms. */
  maxReconnectDelayMs?: number
  /** CLIENT SETNAME, to find the sidecar in CLIENT LIST. */
  connectionName?: string
}

/** RedisState is what `/readyz` and the `tollgate_redis_up` metric report. */
export type RedisState = 'up' | 'down'

/** reconnectDelay is exponential from 50 ms, capped, with up to 100 ms of jitter. */
export const reconnectDelay = (attempt: number, maxMs: number, random: () => number = Math.random) =>
  Math.min(50 * 2 ** Math.min(attempt, 16), maxMs) + Math.floor(random() * 100)

/**
 * CoalescingRedis writes every command issued within one tick to the socket in one go: the first
 * command of a tick corks the socket and the next tick uncorks it. A call's reserve and cache
 * read, or a finished call's settle and cache write, then cost one write system call (and one
 * loopback trip through the kernel) instead of one each, which on a busy machine is most of what
 * a Redis command costs the client. Commands keep their own replies, timeouts and errors; they
 * wait at most until the end of the tick.
 */
class CoalescingRedis extends Redis {
  override sendCommand(command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    const socket = this.stream
    if (!stream && this.status === 'ready' && socket && !socket.writableCorked) {
      socket.cork()
      process.nextTick(() => socket.uncork())
    }
    return super.sendCommand(command, stream)
  }
}

/**
 * DataRedis is the sidecar's data-plane Redis connection, built so that nothing waits on a Redis
 * that is gone: no offline queue (a command while disconnected fails at once), a short command
 * timeout, no retry of a command across reconnects (a reserve must never run twice), a socket
 * timeout that tears down a connection whose server stopped answering, and reconnection with
 * capped backoff forever. `isUp()` is true only while the connection is ready. Commands of one
 * tick share one socket write (CoalescingRedis).
 */
export class DataRedis {
  readonly client: Redis
  #up = false
  #closed = false
  #lastError: Error | undefined
  #listeners = new Set<(state: RedisState) => void>()

  constructor(options: DataRedisOptions) {
    const commandTimeout = options.commandTimeoutMs ?? 500
    const maxDelay = options.maxReconnectDelayMs ?? 2_000
    this.client = new CoalescingRedis(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout,
      // Armed only while replies are outstanding: a server that stopped (SIGSTOP, partition) is
      // detected and the connection rebuilt instead of timing out command after command.
      socketTimeout: commandTimeout * 2,
      connectTimeout: options.connectTimeoutMs ?? 1_000,
      retryStrategy: (attempt) => (this.#closed ? null : reconnectDelay(attempt, maxDelay)),
      ...(options.connectionName && { connectionName: options.connectionName }),
    })
    this.client.on('ready', () => this.#set(true))
    for (const event of ['close', 'end', 'reconnecting'] as const)
      this.client.on(event, () => this.#set(false))
    // Without a listener an 'error' event would crash the process; the state tells the story.
    this.client.on('error', (error: Error) => {
      this.#lastError = error
    })
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
