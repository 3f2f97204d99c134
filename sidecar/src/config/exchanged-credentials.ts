import type { KeyObject } from 'node:crypto'
import type { CompiledProvider } from '@tollgate/api/compiled-config.ts'
import type { CredentialResponse } from '@tollgate/api/exchange.ts'
import { trustedKeys } from '@tollgate/api/signed-config.ts'
import type { Logger } from 'pino'
import type { Credentials } from './credentials.ts'

/** CredentialState is what `/readyz` reports: none yet, in force, or past its expiry. */
export type CredentialState = 'pending' | 'ok' | 'expired'

export interface ExchangedCredentialsOptions {
  exchange: () => Promise<CredentialResponse>
  log: Logger
  /** Called after every exchange attempt (metrics). */
  onResult?: (ok: boolean) => void
  /** Backoff between failed attempts. Default 1 s doubling to 30 s. */
  retryBaseMs?: number
  retryMaxMs?: number
}

/**
 * ExchangedCredentials is managed mode's material: provider keys, the tenant's Redis user and the
 * keys that sign its configs, as the operator's exchange handed them out. It holds them in memory
 * only, asks again at `refreshAfter`, keeps using what it has while the operator is away (retrying
 * with backoff), and stops using it at `expiresAt`. A key is handed out only for the origin both
 * the exchange and the verified config in force name for its provider: a config that names
 * another origin gets no key.
 */
export class ExchangedCredentials implements Credentials {
  readonly ready: Promise<void>
  readonly #opts: ExchangedCredentialsOptions
  #material: CredentialResponse | undefined
  #expiresAt = 0
  #keys = new Map<string, { origin: string; apiKey: string }>()
  #trusted: ReadonlyMap<string, KeyObject> = new Map()
  /** Provider origins of the verified config in force. */
  #verified = new Map<string, string>()
  readonly #listeners = new Set<(material: CredentialResponse) => void>()
  #markReady!: () => void
  #timer: NodeJS.Timeout | undefined
  #failures = 0
  #closed = false

  constructor(opts: ExchangedCredentialsOptions) {
    this.#opts = opts
    this.ready = new Promise((resolve) => {
      this.#markReady = resolve
    })
  }

  /** start exchanges now and keeps the material fresh until close(). */
  start(): void {
    void this.#exchange()
  }

  state(): CredentialState {
    if (!this.#material) return 'pending'
    return Date.now() < this.#expiresAt ? 'ok' : 'expired'
  }

  get(provider: string): string | undefined {
    if (Date.now() >= this.#expiresAt) return undefined
    const credential = this.#keys.get(provider)
    if (!credential || this.#verified.get(provider) !== credential.origin) return undefined
    return credential.apiKey
  }

  /** refresh records the provider origins of a config that verified and comes into force. */
  async refresh(providers: readonly CompiledProvider[]): Promise<void> {
    this.#verified = new Map(providers.map((p) => [p.name, new URL(p.baseURL).origin]))
  }

  /** redis is the tenant's Redis user, or undefined before the first exchange. */
  redis(): CredentialResponse['redis'] | undefined {
    return this.#material?.redis
  }

  /** trustedKeys are the public keys a config must be signed by. */
  trustedKeys(): ReadonlyMap<string, KeyObject> {
    return this.#trusted
  }

  /** onChange is told about every new material, the first included. */
  onChange(listener: (material: CredentialResponse) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  close(): void {
    this.#closed = true
    clearTimeout(this.#timer)
  }

  async #exchange(): Promise<void> {
    if (this.#closed) return
    const { log } = this.#opts
    let next: number
    try {
      const material = await this.#opts.exchange()
      if (this.#closed) return
      this.#apply(material)
      this.#failures = 0
      this.#opts.onResult?.(true)
      log.info(
        { providers: material.providers.map((p) => p.name), expiresAt: material.expiresAt },
        'credentials exchanged',
      )
      next = Math.max(1_000, Date.parse(material.refreshAfter) - Date.now())
    } catch (err) {
      if (this.#closed) return
      this.#failures++
      this.#opts.onResult?.(false)
      const base = this.#opts.retryBaseMs ?? 1_000
      next = Math.min(base * 2 ** Math.min(this.#failures - 1, 10), this.#opts.retryMaxMs ?? 30_000)
      next += Math.floor(Math.random() * Math.min(next, 1_000))
      log.warn(
        { err, state: this.state(), retryInMs: next },
        this.#material
          ? 'credential refresh failed; serving with what we have'
          : 'credential exchange failed',
      )
    }
    this.#timer = setTimeout(() => void this.#exchange(), next)
    this.#timer.unref()
  }

  #apply(material: CredentialResponse) {
    this.#material = material
    this.#expiresAt = Date.parse(material.expiresAt)
    this.#keys = new Map(material.providers.map((p) => [p.name, { origin: p.origin, apiKey: p.apiKey }]))
    this.#trusted = trustedKeys(material.configKeys)
    for (const listener of this.#listeners) listener(material)
    this.#markReady()
  }
}
