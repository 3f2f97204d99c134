import type { FailureMode } from './ratelimit-policy.ts'
import type { BudgetPeriod, ProviderType, Tier } from './tenant.ts'

/**
 * CompiledConfig is everything one tenant's sidecars need, computed by the operator (or by the
 * sidecar itself in standalone mode) from the Tenant, the policies that target it, the tier table
 * and the price table. It is stored as JSON at `keys.config(tenant)` and carries no secret:
 * credentials are referenced, never copied.
 */
export interface CompiledConfig {
  schema: 1
  tenant: string
  /** Monotonic per tenant; a sidecar never replaces a config with an older version. */
  version: number
  /** sha256 of the compiled content without version; equal hashes mean nothing changed. */
  hash: string
  tier: Tier
  suspended: boolean
  providers: CompiledProvider[]
  models: { allow: string[]; deny: string[] }
  limits: CompiledLimit[]
  budgets: CompiledBudget[]
  cache: CompiledCache
  circuitBreaker: CompiledBreaker
  retry: CompiledRetry
  timeouts: CompiledTimeouts
  failureMode: FailureMode
  prices: Price[]
}

export interface CompiledProvider {
  name: string
  type: ProviderType
  baseURL: string
  /** Where the key comes from (the operator reads it; the sidecar gets it by exchange). */
  credential?: { secretName: string; secretNamespace: string; key: string }
  /** Headers the sidecar sets on every call of this provider (billing: OpenAI-Organization, -Project). */
  headers?: Record<string, string>
  /** App headers forwarded beyond the sidecar's own list for the type (names, or prefixes ending in *). */
  forwardHeaders?: string[]
}

/** LimitSource says where a limit came from, so a rejection can name it. */
export interface LimitSource {
  kind: 'Tier' | 'Tenant' | 'RateLimitPolicy'
  name: string
}

export interface CompiledLimit {
  /** Stable id, unique within the tenant, used in Redis keys: `tenant`, `policy.<p>.<limit>`. */
  id: string
  /** The name a rejection shows, e.g. `gpt4`. */
  name: string
  source: LimitSource
  match: { providers: string[]; models: string[] }
  requestsPerMinute?: number
  tokensPerMinute?: number
  tokensPerDay?: number
  concurrency?: number
  /** Counted and reported, never enforced. */
  shadow: boolean
}

export interface CompiledBudget {
  period: BudgetPeriod
  limitNanoUSD: number
  timezone: string
  alertAt: number[]
  /** Set by the operator when the ledger shows the period's budget used up; cleared at reset. */
  exhaustedUntil?: string
}

export interface CompiledCache {
  enabled: boolean
  ttlSeconds: number
  maxEntryBytes: number
  streaming: boolean
  /** Bumped to purge: entries of older generations are never read again. */
  generation: number
}

export interface CompiledBreaker {
  consecutiveFailures: number
  openForMs: number
  halfOpenProbes: number
  on: ('5xx' | '429' | 'timeout' | 'connect')[]
}

export interface CompiledRetry {
  attempts: number
  baseMs: number
  maxMs: number
  on: ('5xx' | '429' | 'timeout' | 'connect')[]
  respectRetryAfter: boolean
}

export interface CompiledTimeouts {
  connectMs: number
  firstByteMs: number
  streamIdleMs: number
}

/** Price in nano-dollars per token (numerically equal to USD per thousand million tokens). */
export interface Price {
  model: string
  inputNano: number
  outputNano: number
  cachedInputNano: number
}
