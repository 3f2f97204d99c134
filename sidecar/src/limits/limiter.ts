import type { CompiledConfig } from '@tollgate/api'
import type { LIMIT_ERRORS } from './errors.ts'

/** LimitKind names what a check counts; the first four are the limit fields of the CRDs. */
export type LimitKind = 'requestsPerMinute' | 'tokensPerMinute' | 'tokensPerDay' | 'concurrency' | 'budget'

/** LimitRequest is one call as the limiter sees it, before it is sent. */
export interface LimitRequest {
  /** The tenant's name, as in `config.tenant` (whose keys are used). */
  tenant: string
  /** Provider name of the tenant (the route prefix), matched against `match.providers`. */
  provider: string
  model: string
  /** Prompt estimate plus the most output tokens the call may produce (see estimate.ts). */
  estimatedTokens: number
  /** Estimated cost in integer nano-dollars (the estimate's usage at the call's price, usage.ts costNano). */
  estimatedCostNano: number
  /** The tenant's compiled config: its limits, budgets and failureMode apply. */
  config: CompiledConfig
}

/** CheckIdentity is which limit or budget a check is, how people read it, and its bound. */
export interface CheckIdentity {
  kind: LimitKind
  /** `CompiledLimit.id`, or `budget.day` / `budget.month`. */
  id: string
  /** Limit name (`gpt4`) or budget period (`day`). */
  name: string
  /** What a person reads: `tokensPerMinute of limit gpt4 in policy gpt4-limits for model gpt-4o`. */
  scope: string
  shadow: boolean
  /** The limit: requests, tokens, slots, or nano-dollars for a budget. */
  limit: number
}

/** CheckReport is one limit or budget evaluated for a request. */
export interface CheckReport extends CheckIdentity {
  /** Counted before this request. */
  used: number
  /** What this request asked for. */
  cost: number
  /** Left after this request when admitted, left before it when rejected; never negative. */
  remaining: number
  /** When the counter resets, epoch ms; undefined for concurrency (slots free when calls end). */
  resetAt: number | undefined
  /** used + cost > limit. */
  tripped: boolean
}

/** RateLimitInfo feeds one family of OpenAI-style `x-ratelimit-*` headers. */
export interface RateLimitInfo {
  limit: number
  remaining: number
  /** Epoch ms at which `remaining` is back to `limit`. */
  resetAt: number
}

/** RateLimitState is what the `x-ratelimit-*-requests` and `x-ratelimit-*-tokens` headers report. */
export interface RateLimitState {
  requests?: RateLimitInfo
  tokens?: RateLimitInfo
}

/** Charged lists the counters a reservation charged, so settle adjusts exactly those. */
export interface Charged {
  /** Token counters (tokensPerMinute, tokensPerDay windows). */
  tokens: string[]
  /** Spend counters of budget periods. */
  spend: string[]
  /** Concurrency sets holding the reservation's slot. */
  inflight: string[]
}

/** Reservation is an admitted request whose estimate is counted until it is settled or released. */
export interface Reservation {
  ok: true
  /** Unique id; also the member of the concurrency sets. */
  id: string
  tenant: string
  /** Which limiter holds the counters; a failover limiter routes settle by it. */
  backend: 'redis' | 'memory'
  estimatedTokens: number
  estimatedCostNano: number
  /** Decision time, epoch ms: Redis server time or the injected clock. */
  at: number
  rateLimit: RateLimitState
  /** Every check evaluated, enforced and shadow. */
  checks: CheckReport[]
  /** Shadow checks that would have rejected the request: report them, never act on them. */
  shadowTripped: CheckReport[]
  charged: Charged
}

/** Rejection is a refused request with everything its 429 or 503 answer needs. */
export interface Rejection {
  ok: false
  code: (typeof LIMIT_ERRORS)['quotaExceeded' | 'budgetExceeded' | 'limiterUnavailable']
  status: 429 | 503
  /** The check that decided (the one that frees last when several trip); absent for a 503. */
  tripped?: CheckReport
  scope: string
  /** One sentence for the error body; names the limit, its scope and when to come back. */
  message: string
  retryAfterSeconds: number
  /** Decision time, epoch ms, the clock the reset times are on. */
  at: number
  rateLimit: RateLimitState
  checks: CheckReport[]
  shadowTripped: CheckReport[]
}

/** ActualUsage is what a call really cost, known after it ended (partially for an aborted stream). */
export interface ActualUsage {
  /** Input plus output tokens. */
  tokens: number
  costNano: number
}

/**
 * Limiter reserves before a call and settles after it. Implementations: RedisLimiter (shared by
 * every replica of a tenant), MemoryLimiter (standalone mode and the failureMode=open fallback),
 * FailoverLimiter (Redis, falling back per failureMode).
 */
export interface Limiter {
  /**
   * reserve admits the request against every applicable limit and budget and counts its
   * estimate in all of them, or in none. It throws LimiterUnavailableError when it cannot decide.
   */
  reserve(request: LimitRequest): Promise<Reservation | Rejection>
  /**
   * settle replaces the estimate by the real usage (adjusts token and spend counters by
   * actual - estimate) and frees the concurrency slot. Settling twice does nothing. It rejects
   * with LimiterUnavailableError when the store cannot be reached; callers log and go on: the
   * estimate then stays counted (the conservative side) and the slot frees when its lease ends.
   */
  settle(reservation: Reservation, actual: ActualUsage): Promise<void>
  /**
   * release gives back the tokens and money of a call that used none (failed before the
   * provider answered, cache hit) and frees its slot; the request itself stays counted.
   */
  release(reservation: Reservation): Promise<void>
  /**
   * suspend is told that the store cannot be reached (FailoverLimiter saw it down and did not ask):
   * a limiter that admits calls from what it holds locally (leases) admits none until the store
   * answers again. Limiters without such state have none.
   */
  suspend?(): void
}

/** isReservation narrows a reserve result. */
export const isReservation = (r: Reservation | Rejection): r is Reservation => r.ok
