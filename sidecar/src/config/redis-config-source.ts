import type { KeyObject } from 'node:crypto'
import { type CompiledConfig, isNewerConfig } from '@tollgate/api/compiled-config.ts'
import { channels, keys } from '@tollgate/api/redis-keys.ts'
import { ConfigSignatureError, openSignedConfig } from '@tollgate/api/signed-config.ts'
import type { Logger } from 'pino'
import { backoffDelay } from '../resilience/backoff.ts'
import type { ConfigSource } from './config-source.ts'
import type { Credentials } from './credentials.ts'
import { duplicateForSubscriptions, type RedisClient } from './redis-client.ts'
import { RuntimeConfig } from './runtime-config.ts'

/** Hooks for metrics: called after every load attempt. */
export interface ConfigEvents {
  onLoad(
    result: 'applied' | 'unchanged' | 'missing' | 'invalid' | 'rejected' | 'error',
    version: number | undefined,
  ): void
}

/**
 * RedisConfigSource follows the tenant's compiled config in Redis (managed mode). It loads on
 * connect, on every reconnect (pub/sub is lossy: a publish sent while disconnected is gone), on
 * each message on the tenant's channel, and every resyncMs regardless, which bounds how long a
 * publish lost some other way (a subscription not yet renewed, a client dropped for its output
 * buffer) can keep an old config, a suspension included, in force. A read or a subscribe that
 * fails (a command timing out while the connection opens under load, say) is tried again soon,
 * within 200 ms doubling to 5 s, rather than at the next resync: until its first config a sidecar
 * serves nothing. It applies only a config signed by a key the exchange gave it (anything else
 * is refused, counted as `rejected` and logged), never goes back to a config of an earlier epoch
 * or a lower version of its own (isNewerConfig), and keeps the last good config whenever Redis is
 * gone or holds something unusable.
 */
export class RedisConfigSource implements ConfigSource {
  readonly mode = 'managed' as const
  readonly tenant: string
  readonly loaded: Promise<void>
  readonly #client: RedisClient
  readonly #subscriber: RedisClient
  readonly #credentials: Credentials
  readonly #log: Logger
  readonly #events: ConfigEvents | undefined
  #current: RuntimeConfig | undefined = undefined
  #markLoaded!: () => void
  #closed = false
  readonly #resync: NodeJS.Timeout
  readonly #retries = { read: new Backoff(), subscribe: new Backoff() }

  readonly #trusted: () => ReadonlyMap<string, KeyObject>

  constructor(opts: {
    client: RedisClient
    tenant: string
    credentials: Credentials
    /** The public keys a config must be signed by (from the exchange). */
    trustedKeys: () => ReadonlyMap<string, KeyObject>
    log: Logger
    events?: ConfigEvents
    /** How often the config is read again without a publish (default 30 s). */
    resyncMs?: number
  }) {
    this.tenant = opts.tenant
    this.#client = opts.client
    this.#credentials = opts.credentials
    this.#trusted = opts.trustedKeys
    this.#log = opts.log
    this.#events = opts.events
    this.loaded = new Promise((resolve) => {
      this.#markLoaded = resolve
    })
    // Sharded pub/sub on one node and on a cluster alike: the channel carries the tenant's hash
    // tag, so on a cluster it is served by the master of the tenant's slot.
    this.#subscriber = duplicateForSubscriptions(this.#client, `tollgate-sidecar-sub:${opts.tenant}`)
    this.#subscriber.on('error', () => {})
    const channel = channels.config(opts.tenant)
    this.#subscriber.on('smessage', (from: string) => {
      if (from === channel) void this.reload('publish')
    })
    const subscribe = () =>
      this.#subscriber.ssubscribe(channel).then(
        () => {
          this.#retries.subscribe.reset()
          return this.reload('subscribe')
        },
        (cause) => {
          this.#log.warn({ err: cause }, 'config subscription failed; subscribing again soon')
          this.#retries.subscribe.failed(() => {
            if (this.#subscriber.status === 'ready' && !this.#closed) void subscribe()
          })
        },
      )
    this.#subscriber.on('ready', () => void subscribe())
    // A cluster's subscribers move with the slot (failover, resharding): what was published
    // meanwhile is gone, so the config is read again.
    this.#subscriber.on('subscribersReady', () => void this.reload('subscribe'))
    this.#client.on('ready', () => void this.reload('connect'))
    if (this.#client.status === 'ready') void this.reload('connect')
    this.#resync = setInterval(() => {
      if (this.#client.status === 'ready') void this.reload('resync')
    }, opts.resyncMs ?? 30_000)
    this.#resync.unref()
  }

  current(): RuntimeConfig | undefined {
    return this.#current
  }

  /** clients are the connections this source opened (to authenticate them, managed mode). */
  clients(): RedisClient[] {
    return [this.#client, this.#subscriber]
  }

  /** reload reads the config key once; it never throws (a failure keeps the config in force). */
  async reload(reason: string): Promise<void> {
    if (this.#closed) return
    let raw: string | null
    try {
      raw = await this.#client.get(keys.config(this.tenant))
    } catch (err) {
      this.#log.warn({ err, reason }, 'config load failed; keeping the config in force, reading again soon')
      this.#events?.onLoad('error', this.#current?.compiled.version)
      this.#retries.read.failed(() => {
        if (this.#client.status === 'ready') void this.reload('retry')
      })
      return
    }
    this.#retries.read.reset()
    if (raw === null) {
      this.#log.warn({ reason, key: keys.config(this.tenant) }, 'no compiled config for the tenant yet')
      this.#events?.onLoad('missing', this.#current?.compiled.version)
      return
    }
    let text: string
    try {
      text = openSignedConfig(raw, this.#trusted())
    } catch (err) {
      if (!(err instanceof ConfigSignatureError)) throw err
      this.#log.error(
        { reason, key: keys.config(this.tenant), problem: err.message },
        'compiled config refused: not signed by the operator; keeping the config in force',
      )
      this.#events?.onLoad('rejected', this.#current?.compiled.version)
      return
    }
    let compiled: CompiledConfig
    try {
      compiled = parseCompiled(text, this.tenant)
    } catch (err) {
      this.#log.error({ err, reason }, 'compiled config unusable; keeping the config in force')
      this.#events?.onLoad('invalid', this.#current?.compiled.version)
      return
    }
    const inForce = this.#current?.compiled
    if (inForce && !isNewerConfig(compiled, inForce)) {
      // a resync that finds the config in force is no event: only a read something asked for is
      if (reason !== 'resync') this.#events?.onLoad('unchanged', inForce.version)
      return
    }
    await this.#credentials.refresh(compiled.providers)
    // another load may have applied a newer config while the credentials were read
    const now = this.#current?.compiled
    if (now && !isNewerConfig(compiled, now)) return
    this.#current = new RuntimeConfig(compiled, this.#credentials)
    this.#log.info({ reason, version: compiled.version, hash: compiled.hash }, 'config in force')
    this.#events?.onLoad('applied', compiled.version)
    this.#markLoaded()
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#resync)
    this.#retries.read.reset()
    this.#retries.subscribe.reset()
    this.#credentials.close()
    this.#subscriber.disconnect()
  }
}

/**
 * Backoff runs a retry after a failure, within 200 ms doubling to 5 s (backoffDelay's full
 * jitter, so sidecars that failed together retry apart), one pending at a time; reset (on a
 * success, or at close) cancels it and starts the delays again from the shortest.
 */
class Backoff {
  #failures = 0
  #timer: NodeJS.Timeout | undefined

  failed(retry: () => void): void {
    if (this.#timer) return
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined
        retry()
      },
      backoffDelay(this.#failures++, 200, 5_000),
    )
    this.#timer.unref()
  }

  reset(): void {
    this.#failures = 0
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}

/** parseCompiled checks the parts of the JSON the sidecar relies on before trusting it. */
export function parseCompiled(raw: string, tenant: string): CompiledConfig {
  const value = JSON.parse(raw) as CompiledConfig
  if (value === null || typeof value !== 'object') throw new Error('compiled config is not an object')
  if (value.schema !== 1) throw new Error(`unsupported compiled config schema ${String(value.schema)}`)
  if (value.tenant !== tenant) throw new Error(`compiled config is for tenant ${value.tenant}, not ${tenant}`)
  if (!Number.isSafeInteger(value.version)) throw new Error('compiled config has no integer version')
  if (value.epoch !== undefined && !Number.isSafeInteger(value.epoch))
    throw new Error('compiled config has an epoch that is not an integer')
  if (!Array.isArray(value.providers)) throw new Error('compiled config has no providers')
  for (const p of value.providers) new URL(p.baseURL)
  return value
}
