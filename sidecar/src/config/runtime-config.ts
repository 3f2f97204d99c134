import type { CompiledConfig, CompiledEndpoints, Price, ProviderType } from '@tollgate/api'
import { globMatch, matchesAny } from '@tollgate/api/glob.ts'
import { HeaderAllowList } from '../upstream/forwarded-headers.ts'
import { highestPrice, priceFamily, priceOf } from '../usage/usage.ts'
import type { Credentials } from './credentials.ts'

/** What a provider of a config from an operator that knew no endpoint settings gets. */
const DEFAULT_ENDPOINTS: CompiledEndpoints = { batches: 'refuse', backgroundResponses: 'refuse', allow: [] }

/** RuntimeProvider is a compiled provider made ready for the hot path. */
export interface RuntimeProvider {
  name: string
  type: ProviderType
  /** `https://api.openai.com`: the undici Pool key. */
  origin: string
  /** Path of the baseURL, prepended to the request path (`/api` for `https://host/api`). */
  basePath: string
  /** The header that carries the key: `authorization` (Bearer) or `x-api-key`. */
  credentialHeader: 'authorization' | 'x-api-key'
  endpoints: CompiledEndpoints
  /** Headers from the Tenant set on every call (billing), lower case. */
  headers: Readonly<Record<string, string>>
  /** Which of the app's request headers go to the provider. */
  forward: HeaderAllowList
}

/**
 * RuntimeConfig is a CompiledConfig plus what the hot path derives from it once per change:
 * providers by route name and a memo of price lookups per model.
 */
export class RuntimeConfig {
  readonly compiled: CompiledConfig
  readonly providers: ReadonlyMap<string, RuntimeProvider>
  readonly credentials: Credentials
  readonly #prices = new Map<string, Price | undefined>()
  readonly #allowed = new Map<string, boolean>()

  constructor(compiled: CompiledConfig, credentials: Credentials) {
    this.compiled = compiled
    this.credentials = credentials
    this.providers = new Map(
      compiled.providers.map((p) => {
        const url = new URL(p.baseURL)
        const provider: RuntimeProvider = {
          name: p.name,
          type: p.type,
          origin: url.origin,
          basePath: url.pathname.replace(/\/+$/, ''),
          credentialHeader: p.type === 'anthropic' ? 'x-api-key' : 'authorization',
          endpoints: p.endpoints ?? DEFAULT_ENDPOINTS,
          headers: p.headers ?? {},
          forward: new HeaderAllowList(p.type, p.forwardHeaders),
        }
        return [p.name, provider]
      }),
    )
  }

  /** modelAllowed applies the tenant's model globs: deny wins, an empty allow list allows all. */
  modelAllowed(model: string): boolean {
    const known = this.#allowed.get(model)
    if (known !== undefined) return known
    const { allow, deny } = this.compiled.models
    const allowed = !deny.some((glob) => globMatch(glob, model)) && matchesAny(allow, model)
    if (this.#allowed.size < 1024) this.#allowed.set(model, allowed)
    return allowed
  }

  /**
   * priceOf is the price a call of a provider type and model is charged: the most specific row of
   * the provider's price family; for a model without one, the highest rates of the family when the
   * tenant's unpricedModels is estimate, else undefined (the call is refused). Memoised per model.
   */
  priceOf(type: ProviderType, model: string): Price | undefined {
    const family = priceFamily(type)
    const id = `${family}\u0000${model}`
    if (this.#prices.has(id)) return this.#prices.get(id)
    const price =
      priceOf(this.compiled.prices, family, model) ??
      (this.compiled.unpricedModels === 'estimate'
        ? highestPrice(this.compiled.prices, family, model)
        : undefined)
    if (this.#prices.size < 1024) this.#prices.set(id, price)
    return price
  }
}
