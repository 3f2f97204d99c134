/**
 * The operator's error catalogue: every error it raises on purpose carries one of these stable
 * codes, so logs, metrics and conditions can name the cause without parsing messages.
 */
export const ERROR_CODES = {
  INVALID_CONFIG: 'TOLLGATE_ERR_INVALID_CONFIG',
  INVALID_SPEC: 'TOLLGATE_ERR_INVALID_SPEC',
  SECRET_NOT_FOUND: 'TOLLGATE_ERR_SECRET_NOT_FOUND',
  DATABASE_UNAVAILABLE: 'TOLLGATE_ERR_DATABASE_UNAVAILABLE',
  REDIS_UNAVAILABLE: 'TOLLGATE_ERR_REDIS_UNAVAILABLE',
  KUBE_API: 'TOLLGATE_ERR_KUBE_API',
  QUEUE_SHUT_DOWN: 'TOLLGATE_ERR_QUEUE_SHUT_DOWN',
  ALERT_DELIVERY: 'TOLLGATE_ERR_ALERT_DELIVERY',
  MIGRATION: 'TOLLGATE_ERR_MIGRATION',
  /** An HTTP caller brought no bearer token, or one the API server does not accept (401). */
  UNAUTHENTICATED: 'TOLLGATE_ERR_UNAUTHENTICATED',
  /** An HTTP caller may not do what it asked (403). */
  FORBIDDEN: 'TOLLGATE_ERR_FORBIDDEN',
  /** A request the operator cannot judge: malformed, or missing a field (400). */
  INVALID_REQUEST: 'TOLLGATE_ERR_INVALID_REQUEST',
  /** The credential exchange refused the pod its token is bound to (403). */
  EXCHANGE_REFUSED: 'TOLLGATE_ERR_EXCHANGE_REFUSED',
  /** An alert webhook URL is not allowed (scheme, address) (no delivery is tried). */
  ALERT_TARGET_REFUSED: 'TOLLGATE_ERR_ALERT_TARGET_REFUSED',
} as const

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES]

/** TollgateError is an error with a stable code; `cause` keeps the underlying error. */
export class TollgateError extends Error {
  readonly code: ErrorCode
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'TollgateError'
  }
}

/** hasCode reports whether an error (or any error in its cause chain) carries the code. */
export function hasCode(error: unknown, code: ErrorCode): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 10; e = (e as Error).cause, depth++) {
    if ((e as { code?: unknown }).code === code) return true
  }
  return false
}
