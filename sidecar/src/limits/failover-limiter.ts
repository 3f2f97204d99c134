import { unavailableRejection } from './decision.ts'
import { isLimiterUnavailable, type LimiterUnavailableError } from './errors.ts'
import type { ActualUsage, Limiter, LimitRequest, Rejection, Reservation } from './limiter.ts'

export interface FailoverLimiterOptions {
  /** The shared limiter (RedisLimiter). */
  primary: Limiter
  /** The local limiter used while the primary is unavailable and failureMode is open. */
  fallback: Limiter
  /**
   * Whether the primary's store is up (DataRedis.isUp). While it is down the primary is not
   * even tried, so no request pays for a doomed call.
   */
  isPrimaryUp?: () => boolean
  /** Told of every fallback decision, for logs and metrics. */
  onFallback?: (mode: 'open' | 'closed', error: LimiterUnavailableError | undefined) => void
}

/**
 * fallbackMode is what a call does while Redis cannot decide: closed (503) when the policy's
 * failureMode says so, or when the tenant has a budget and budgets fail closed (the default
 * unless a policy sets failureMode: one replica cannot know what the others spent, so local
 * budgets would let each replica spend the whole budget); open (local limits) otherwise.
 */
export function fallbackMode(config: LimitRequest['config']): 'open' | 'closed' {
  if (config.failureMode === 'closed') return 'closed'
  const budgets = config.budgetFailureMode ?? config.failureMode
  return config.budgets.length > 0 && budgets === 'closed' ? 'closed' : 'open'
}

/**
 * FailoverLimiter applies the policy's failureMode when the shared limiter cannot decide: `open`
 * serves with local in-memory limits, `closed` answers 503. It recovers by itself: as soon as
 * the primary is up, reservations go there again. Settle goes to whichever limiter reserved.
 */
export class FailoverLimiter implements Limiter {
  #primary: Limiter
  #fallback: Limiter
  #isPrimaryUp: () => boolean
  #onFallback: FailoverLimiterOptions['onFallback']
  #owner = new WeakMap<Reservation, Limiter>()

  constructor(options: FailoverLimiterOptions) {
    this.#primary = options.primary
    this.#fallback = options.fallback
    this.#isPrimaryUp = options.isPrimaryUp ?? (() => true)
    this.#onFallback = options.onFallback
  }

  async reserve(request: LimitRequest): Promise<Reservation | Rejection> {
    let error: LimiterUnavailableError | undefined
    if (this.#isPrimaryUp()) {
      try {
        return this.#own(await this.#primary.reserve(request), this.#primary)
      } catch (e) {
        if (!isLimiterUnavailable(e)) throw e
        error = e
      }
    } else this.#primary.suspend?.()
    const mode = fallbackMode(request.config)
    this.#onFallback?.(mode, error)
    if (mode === 'closed') return unavailableRejection(Date.now())
    return this.#own(await this.#fallback.reserve(request), this.#fallback)
  }

  settle(reservation: Reservation, actual: ActualUsage): Promise<void> {
    return (this.#owner.get(reservation) ?? this.#primary).settle(reservation, actual)
  }

  release(reservation: Reservation): Promise<void> {
    return (this.#owner.get(reservation) ?? this.#primary).release(reservation)
  }

  #own(result: Reservation | Rejection, limiter: Limiter): Reservation | Rejection {
    if (result.ok) this.#owner.set(result, limiter)
    return result
  }
}
