import { CONFIG_CHANNEL, type CompiledConfig, keys } from '@tollgate/api'
import type { Redis } from 'ioredis'

/** How long the version counter of a deleted tenant is kept: longer than any sidecar runs unreloaded. */
const VERSION_TTL_SECONDS = 30 * 24 * 3600

/** ConfigWrite says what writeConfig did. */
export interface ConfigWrite {
  version: number
  written: boolean
}

/**
 * ConfigStore is the operator's side of the Redis contract: the compiled config of each tenant
 * (`keys.config`), its version counter, cache generation bookkeeping, and clean-up. Only the
 * leader writes, one reconcile per tenant at a time, so read-compare-write needs no script.
 */
export class ConfigStore {
  readonly #redis: Redis
  constructor(redis: Redis) {
    this.#redis = redis
  }

  async read(tenant: string): Promise<CompiledConfig | undefined> {
    const raw = await this.#redis.get(keys.config(tenant))
    return raw ? (JSON.parse(raw) as CompiledConfig) : undefined
  }

  /**
   * writeConfig stores the config under a new version and publishes the tenant's name on
   * CONFIG_CHANNEL, unless the stored config has the same hash (then nothing is written and the
   * stored version stands). Versions only rise: a new one is above both the counter and the
   * stored config's version.
   */
  async writeConfig(config: CompiledConfig): Promise<ConfigWrite> {
    const tenant = config.tenant
    const current = await this.read(tenant)
    if (current && current.hash === config.hash) return { version: current.version, written: false }
    let version = await this.#redis.incr(keys.configVersion(tenant))
    if (current && version <= current.version) {
      version = current.version + 1
      await this.#redis.set(keys.configVersion(tenant), version)
    }
    await this.#redis
      .multi()
      .persist(keys.configVersion(tenant))
      .set(keys.config(tenant), JSON.stringify({ ...config, version }))
      .publish(CONFIG_CHANNEL, tenant)
      .exec()
      .then(throwOnExecError)
    return { version, written: true }
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
   * deleteTenant removes every key of the tenant (SCAN over its prefix) except the version
   * counter, which expires later, and publishes the name (when it removed anything) so sidecars
   * drop the config.
   * Returns how many keys it removed.
   */
  async deleteTenant(tenant: string): Promise<number> {
    const keep = keys.configVersion(tenant)
    const pattern = `${escapeGlob(keys.tenantPrefix(tenant))}*`
    let removed = 0
    let cursor = '0'
    do {
      const [next, batch] = await this.#redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
      cursor = next
      const doomed = batch.filter((key) => key !== keep)
      if (doomed.length > 0) removed += await this.#redis.unlink(...doomed)
    } while (cursor !== '0')
    await this.#redis.expire(keep, VERSION_TTL_SECONDS)
    // Sidecars hear of it once; a repeated clean-up finds nothing and says nothing.
    if (removed > 0) await this.#redis.publish(CONFIG_CHANNEL, tenant)
    return removed
  }
}

/** escapeGlob quotes the characters SCAN MATCH treats as pattern syntax. */
export const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&')

function throwOnExecError(results: [Error | null, unknown][] | null): void {
  if (!results) throw new Error('redis transaction aborted')
  for (const [error] of results) if (error) throw error
}
