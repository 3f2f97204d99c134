/**
 * Error codes of the enforcement core. They join the sidecar's one catalogue when the stages are
 * wired in; the codes are stable, the classes carry them as `code` like undici's `UND_ERR_*`.
 */
export const LIMIT_ERRORS = {
  /** A request, token or concurrency limit has no room; answered 429. */
  quotaExceeded: 'TOLLGATE_ERR_QUOTA_EXCEEDED',
  /** A cost budget of the period is used up; answered 429. */
  budgetExceeded: 'TOLLGATE_ERR_BUDGET_EXCEEDED',
  /** Redis could not be asked and the policy's failureMode is closed; answered 503. */
  limiterUnavailable: 'TOLLGATE_ERR_LIMITER_UNAVAILABLE',
  /** The sidecar's clock and Redis' clock differ by more than one limit window. */
  clockSkew: 'TOLLGATE_ERR_CLOCK_SKEW',
} as const

/**
 * LimiterUnavailableError says the shared limiter could not decide (Redis down, timed out, or
 * answered garbage); the caller falls back to local limits or answers 503 per failureMode.
 */
export class LimiterUnavailableError extends Error {
  readonly code = LIMIT_ERRORS.limiterUnavailable
  constructor(step: string, options?: { cause?: unknown }) {
    super(`limiter unavailable: ${step}`, options)
    this.name = 'LimiterUnavailableError'
  }
}

/** isLimiterUnavailable reports whether an error means "ask the fallback". */
export const isLimiterUnavailable = (error: unknown): error is LimiterUnavailableError =>
  error instanceof LimiterUnavailableError
