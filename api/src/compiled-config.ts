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
  /**
   * When the tenant's config history in this Redis began (ms since the epoch). Redis can lose its
   * data (a restart without persistence, a failover to an empty replica, FLUSHALL), and the version
   * counter with it; the operator then starts a new epoch, and a sidecar takes any version of a
   * newer epoch. Absent in configs of older operators: 0.
   */
  epoch?: number
  /** Monotonic per tenant within an epoch; a sidecar never replaces a config with an older one. */
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
  /** When Redis is unreachable: rate limits (requests, tokens, concurrency). */
  failureMode: FailureMode
  /** When Redis is unreachable: budgets; closed unless a policy sets failureMode. Absent: failureMode. */
  budgetFailureMode?: FailureMode
  /** A model without a price: refused (deny) or charged the highest rates of its provider (estimate). */
  unpricedModels?: 'deny' | 'estimate'
  /**
   * A call that would incur a fee the table has no price for (fast mode, priority processing,
   * per-call built-in tools): refused (deny, the default) or served and counted without it (allow).
   */
  unpricedFees?: 'deny' | 'allow'
  prices: Price[]
}

export interface CompiledProvider {
  name: string
  type: ProviderType
  baseURL: string
  /** Endpoints refused by default and what the tenant enabled; absent in configs of older operators. */
  endpoints?: CompiledEndpoints
  /** Where the key comes from (the operator reads it; the sidecar gets it by exchange). */
  credential?: { secretName: string; secretNamespace: string; key: string }
  /** Headers the sidecar sets on every call of this provider (billing: OpenAI-Organization, -Project). */
  headers?: Record<string, string>
  /** App headers forwarded beyond the sidecar's own list for the type (names, or prefixes ending in *). */
  forwardHeaders?: string[]
}

/** EndpointSwitch: refused (the default) or governed by estimate. */
export type EndpointSwitch = 'refuse' | 'govern'

/** CompiledEndpoints are a provider's endpoint settings (`spec.providers[].endpoints`). */
export interface CompiledEndpoints {
  batches: EndpointSwitch
  backgroundResponses: EndpointSwitch
  /** Paths the table does not know that the tenant allows: governed by estimate (`model`) or free. */
  allow: { method: string; path: string; as: 'model' | 'free' }[]
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

/** PriceFamily is whose API a price belongs to: openai also prices openai-compatible providers. */
export type PriceFamily = 'openai' | 'anthropic'

/**
 * Price is a compiled price row in nano-dollars per unit: per token (numerically equal to USD per
 * thousand million tokens), image, second of audio or character. An optional token class left out
 * is billed at the text rate of its side (`inputNano` or `outputNano`).
 */
export interface Price {
  model: string
  /** Whose models the row prices; absent: every provider's. */
  provider?: PriceFamily
  inputNano: number
  outputNano: number
  cachedInputNano: number
  cacheWrite5mNano?: number
  cacheWrite1hNano?: number
  audioInputNano?: number
  audioOutputNano?: number
  imageInputNano?: number
  cachedImageInputNano?: number
  imageOutputNano?: number
  /** Per image by `<quality>:<size>` or `<size>`. */
  perImageNano?: Record<string, number>
  perSecondNano?: number
  perCharacterNano?: number
  /** Per search of a provider-side web search tool. */
  perWebSearchNano?: number
  /** Factor on every token of a call pinned to one region (Anthropic `inference_geo`). */
  dataResidencyFactor?: number
  /** Rates of the whole call once its input passes `aboveInputTokens`. */
  longContext?: {
    aboveInputTokens: number
    inputNano: number
    outputNano: number
    cachedInputNano: number
    cacheWrite5mNano: number
    cacheWrite1hNano: number
  }
}

/**
 * isNewerConfig orders configs by epoch, then version: what a sidecar holds is replaced only by
 * a later one, so a replayed old config (signed, but superseded) is never taken again.
 */
export function isNewerConfig(
  candidate: Pick<CompiledConfig, 'epoch' | 'version'>,
  held: Pick<CompiledConfig, 'epoch' | 'version'>,
): boolean {
  const [a, b] = [candidate.epoch ?? 0, held.epoch ?? 0]
  return a !== b ? a > b : candidate.version > held.version
}
