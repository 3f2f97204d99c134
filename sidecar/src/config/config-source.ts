import type { RuntimeConfig } from './runtime-config.ts'

/**
 * ConfigSource holds the tenant's config in force. Standalone mode compiles it once from a file;
 * managed mode follows Redis. The proxy calls `current()` on every request, so it is a field read.
 */
export interface ConfigSource {
  readonly mode: 'standalone' | 'managed'
  readonly tenant: string
  /** current is the config in force, or undefined until the first one has loaded. */
  current(): RuntimeConfig | undefined
  /** loaded resolves when a first config is in force. */
  readonly loaded: Promise<void>
  close(): Promise<void>
}

/** StaticConfigSource serves one config for the life of the process (standalone mode). */
export class StaticConfigSource implements ConfigSource {
  readonly mode = 'standalone' as const
  readonly tenant: string
  readonly loaded = Promise.resolve()
  readonly #config: RuntimeConfig

  constructor(config: RuntimeConfig) {
    this.#config = config
    this.tenant = config.compiled.tenant
  }

  current(): RuntimeConfig {
    return this.#config
  }

  async close(): Promise<void> {
    this.#config.credentials.close()
  }
}
