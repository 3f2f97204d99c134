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
