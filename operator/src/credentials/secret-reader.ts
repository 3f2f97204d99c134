import type { CoreV1Api, V1Secret } from '@kubernetes/client-node'
import { isNotFound } from '../runtime/kube.ts'

/**
 * SecretReader reads the Secrets the operator was pointed at, one by name, and remembers each for
 * `ttlMs`. The operator never lists or caches the Secrets of the cluster: it asks for exactly the
 * ones a permitted reference names, so its memory and its reads are bounded by what tenants use.
 * A change reaches the exchange within `ttlMs`.
 */
export class SecretReader {
  readonly #core: CoreV1Api
  readonly #ttlMs: number
  readonly #cache = new Map<string, { at: number; value: Promise<V1Secret | undefined> }>()

  constructor(core: CoreV1Api, ttlMs = 10_000) {
    this.#core = core
    this.#ttlMs = ttlMs
  }

  /** read returns the Secret, or undefined when it does not exist; other API errors throw. */
  read(namespace: string, name: string): Promise<V1Secret | undefined> {
    const key = `${namespace}/${name}`
    const hit = this.#cache.get(key)
    if (hit && Date.now() - hit.at < this.#ttlMs) return hit.value
    const value = this.#core.readNamespacedSecret({ namespace, name }).then(
      (secret) => secret,
      (error) => {
        if (isNotFound(error)) return undefined
        this.#cache.delete(key)
        throw new Error(`read Secret ${key}`, { cause: error })
      },
    )
    this.#cache.set(key, { at: Date.now(), value })
    if (this.#cache.size > 4096) this.#cache.delete(this.#cache.keys().next().value as string)
    return value
  }

  /** value decodes one key of a Secret; undefined when the Secret or the key is missing. */
  async value(namespace: string, name: string, key: string): Promise<string | undefined> {
    const data = (await this.read(namespace, name))?.data?.[key]
    return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8').trim()
  }

  /** forget drops a remembered Secret (its informer saw it change). */
  forget(namespace: string, name: string): void {
    this.#cache.delete(`${namespace}/${name}`)
  }
}
