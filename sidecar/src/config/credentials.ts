import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { CompiledProvider } from '@tollgate/api'

/** Credentials hands out provider keys; `get` runs on every request and must not block. */
export interface Credentials {
  /** get returns the key for a provider, or undefined when there is none. */
  get(provider: string): string | undefined
  /** refresh loads the keys of these providers (called when a config comes into force). */
  refresh(providers: readonly CompiledProvider[]): Promise<void>
  close(): void
}

/** StaticCredentials are fixed at start (standalone mode: a Secret in the file or the SDK's variable). */
export class StaticCredentials implements Credentials {
  readonly #keys: Map<string, string>

  constructor(keys: Map<string, string>) {
    this.#keys = keys
  }

  get(provider: string): string | undefined {
    return this.#keys.get(provider)
  }

  async refresh(): Promise<void> {}

  close(): void {}
}

/**
 * DirectoryCredentials reads `<dir>/<provider name>` (the mirrored Secret the webhook mounts into
 * the sidecar). Kubernetes updates mounted Secrets in place, so the files are read again on every
 * config change and every `intervalMs`, off the request path.
 */
export class DirectoryCredentials implements Credentials {
  readonly #dir: string
  readonly #keys = new Map<string, string>()
  #providers: readonly CompiledProvider[] = []
  readonly #timer: NodeJS.Timeout

  constructor(dir: string, intervalMs = 30_000) {
    this.#dir = dir
    this.#timer = setInterval(() => void this.refresh(this.#providers), intervalMs)
    this.#timer.unref()
  }

  get(provider: string): string | undefined {
    return this.#keys.get(provider)
  }

  async refresh(providers: readonly CompiledProvider[]): Promise<void> {
    this.#providers = providers
    await Promise.all(
      providers.map(async ({ name }) => {
        try {
          const key = (await readFile(join(this.#dir, name), 'utf8')).trim()
          if (key) this.#keys.set(name, key)
          else this.#keys.delete(name)
        } catch {
          this.#keys.delete(name)
        }
      }),
    )
  }

  close(): void {
    clearInterval(this.#timer)
  }
}
