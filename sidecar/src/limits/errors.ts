import type { ErrorCode } from '../errors.ts'

/** The codes of the sidecar's catalogue (errors.ts) that the limiter answers with. */
export const LIMIT_ERRORS = {
  /** A request, token or concurrency limit has no room; answered 429. */
  quotaExceeded: 'TOLLGATE_ERR_QUOTA_EXCEEDED',
  /** A cost budget of the period is used up; answered 429. */
  budgetExceeded: 'TOLLGATE_ERR_BUDGET_EXCEEDED',
  /** Redis could not be asked and the policy's failureMode is closed; answered 503. */
  limiterUnavailable: 'TOLLGATE_ERR_LIMITER_UNAVAILABLE',
} as const satisfies Record<string, ErrorCode>

/**
 * LimiterUnavailableError says the shared limiter could not decide (Redis down, timed out,
 * clocks too far apart, or a reply of the wrong shape); FailoverLimiter then applies the
 * policy's failureMode. It never reaches a client as such.
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
