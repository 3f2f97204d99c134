import { createPublicKey, type KeyObject } from 'node:crypto'
import {
  type CompiledConfig,
  ConfigSignatureError,
  channels,
  configKeyId,
  keys,
  openSignedConfig,
  signConfig,
} from '@tollgate/api'
import { type RedisClient, redisNodes } from './redis-client.ts'

/** How long the version counter of a deleted tenant is kept: longer than any sidecar runs unreloaded. */
const VERSION_TTL_SECONDS = 30 * 24 * 3600

/** ConfigWrite says what writeConfig did. */
export interface ConfigWrite {
  version: number
  written: boolean
}

/**
 * ConfigStore is the operator's side of the Redis contract: the compiled config of each tenant
 * (`keys.config`, signed), its version counter, cache generation bookkeeping, and clean-up. Only
 * the leader writes, one reconcile per tenant at a time, so read-compare-write needs no script.
 */
export class ConfigStore {
  readonly #redis: RedisClient
  readonly #signingKey: KeyObject
  readonly #trusted: Map<string, KeyObject>
  readonly #now: () => number

  constructor(redis: RedisClient, signingKey: KeyObject, now: () => number = Date.now) {
    this.#redis = redis
    this.#now = now
    this.#signingKey = signingKey
    const publicKey = createPublicKey(signingKey)
    this.#trusted = new Map([[configKeyId(publicKey), publicKey]])
  }

  /**
   * read returns the tenant's stored config if this operator signed it. Anything else (nothing,
   * a value someone else wrote, a config signed by another key) reads as absent, so the next
   * write replaces it whatever hash or version it claims.
   */
  async read(tenant: string): Promise<CompiledConfig | undefined> {
    const raw = await this.#redis.get(keys.config(tenant))
    if (!raw) return undefined
    try {
      return JSON.parse(openSignedConfig(raw, this.#trusted)) as CompiledConfig
    } catch (error) {
      if (error instanceof ConfigSignatureError) return undefined
      throw error
    }
  }

  /**
   * writeConfig signs and stores the config under a new version and publishes the version on the
   * tenant's channel, unless the stored config is ours with the same hash (then nothing is written
   * and the stored version stands). Versions only rise within an epoch: a new one is above both the
   * counter and the stored config's version. When the stored config and the epoch are both gone,
   * Redis lost the tenant's data (and the counter restarts at 1): a new epoch begins, which
   * sidecars holding a config of the old one take whatever its version.
   */
  async writeConfig(config: CompiledConfig): Promise<ConfigWrite> {
    const tenant = config.tenant
    const current = await this.read(tenant)
    if (current && current.hash === config.hash) return { version: current.version, written: false }
    const epoch = current?.epoch ?? (await this.#epoch(tenant))
    let version = await this.#redis.incr(keys.configVersion(tenant))
    if (current && version <= current.version) {
      version = current.version + 1
      await this.#redis.set(keys.configVersion(tenant), version)
    }
    await this.#redis
      .multi()
      .persist(keys.configVersion(tenant))
      .set(keys.configEpoch(tenant), epoch)
      .set(keys.config(tenant), signConfig({ ...config, epoch, version }, this.#signingKey))
      .spublish(channels.config(tenant), String(version))
      .exec()
      .then(throwOnExecError)
    return { version, written: true }
  }

  /**
   * #epoch is the tenant's stored epoch, or a new one. Epochs are the operator's clock, so a new
   * one is later than any before it as long as that clock does not run back past the last epoch.
   */
  async #epoch(tenant: string): Promise<number> {
    const stored = Number(await this.#redis.get(keys.configEpoch(tenant)))
    return Number.isSafeInteger(stored) && stored > 0 ? stored : this.#now()
  }

  /**
   * cacheGeneration returns the tenant's cache generation, bumping it when the purge annotation
   * has a value not seen before. An absent annotation never bumps.
   */
  async cacheGeneration(tenant: string, annotation: string | undefined): Promise<number> {
    const raw = await this.#redis.get(keys.cachePurge(tenant))
    const current = raw ? (JSON.parse(raw) as { value?: string; generation: number }) : { generation: 0 }
    if (annotation === undefined || annotation === current.value) return current.generation
    const next = { value: annotation, generation: current.generation + 1 }
    await this.#redis.set(keys.cachePurge(tenant), JSON.stringify(next))
    return next.generation
  }

  /**
   * deleteTenant removes every key of the tenant (SCAN over its prefix, on every master: SCAN
   * sees one node's keys only) except the version counter and the epoch, which expire later (a
   * re-created tenant's versions keep rising), and announces it on the tenant's channel (when it
   * removed anything) so sidecars look again. Returns how many keys it removed.
   */
  async deleteTenant(tenant: string): Promise<number> {
    const keep = new Set([keys.configVersion(tenant), keys.configEpoch(tenant)])
    const pattern = `${escapeGlob(keys.tenantPrefix(tenant))}*`
    let removed = 0
    for (const node of redisNodes(this.#redis, 'master')) {
      let cursor = '0'
      do {
        const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
        cursor = next
        const doomed = batch.filter((key) => !keep.has(key))
        // Through the client, not the node: it follows the slot if it moved meanwhile.
        if (doomed.length > 0) removed += await this.#redis.unlink(...doomed)
      } while (cursor !== '0')
    }
    for (const key of keep) await this.#redis.expire(key, VERSION_TTL_SECONDS)
    // Sidecars hear of it once; a repeated clean-up finds nothing and says nothing.
    if (removed > 0) await this.#redis.spublish(channels.config(tenant), 'deleted')
    return removed
  }
}

/** escapeGlob quotes the characters SCAN MATCH treats as pattern syntax. */
export const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&')

function throwOnExecError(results: [Error | null, unknown][] | null): void {
  if (!results) throw new Error('redis transaction aborted')
  for (const [error] of results) if (error) throw error
}
