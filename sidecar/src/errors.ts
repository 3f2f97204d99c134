/**
 * The sidecar's error catalogue. Every error a client or an operator can see carries one of these
 * stable codes (like undici's `UND_ERR_*`); the HTTP status and the provider-specific error type
 * live here, in one table, so the reply stage renders any of them in the provider's own shape.
 */
export const ERRORS = {
  TOLLGATE_ERR_UNKNOWN_PROVIDER: {
    status: 404,
    openai: 'invalid_request_error',
    anthropic: 'not_found_error',
  },
  TOLLGATE_ERR_INVALID_JSON: {
    status: 400,
    openai: 'invalid_request_error',
    anthropic: 'invalid_request_error',
  },
  /** The body is JSON nested deeper, or with more values, than the sidecar parses. */
  TOLLGATE_ERR_JSON_TOO_COMPLEX: {
    status: 400,
    openai: 'invalid_request_error',
    anthropic: 'invalid_request_error',
  },
  /** A multipart/form-data body that cannot be read. */
  TOLLGATE_ERR_INVALID_FORM: {
    status: 400,
    openai: 'invalid_request_error',
    anthropic: 'invalid_request_error',
  },
  /** The path is ambiguous (an encoded slash, a broken escape, `..` above the root...). */
  TOLLGATE_ERR_INVALID_PATH: {
    status: 400,
    openai: 'invalid_request_error',
    anthropic: 'invalid_request_error',
  },
  /** An openai or anthropic provider's path the endpoint table does not know. */
  TOLLGATE_ERR_UNKNOWN_ENDPOINT: {
    status: 404,
    openai: 'invalid_request_error',
    anthropic: 'not_found_error',
  },
  /** An endpoint refused unless the tenant enables it (batches, background Responses). */
  TOLLGATE_ERR_ENDPOINT_DISABLED: { status: 403, openai: 'permission_error', anthropic: 'permission_error' },
  /** A governed OpenAI batch whose input file the sidecar cannot read or estimate. */
  TOLLGATE_ERR_BATCH_INPUT_UNREADABLE: {
    status: 400,
    openai: 'invalid_request_error',
    anthropic: 'invalid_request_error',
  },
  /** The model name is not one the sidecar counts (characters, length). */
  TOLLGATE_ERR_INVALID_MODEL: {
    status: 400,
    openai: 'invalid_request_error',
    anthropic: 'invalid_request_error',
  },
  /** No price for the model and the tenant's unpricedModels is deny. */
  TOLLGATE_ERR_MODEL_UNPRICED: { status: 403, openai: 'permission_error', anthropic: 'permission_error' },
  /** A speed or service tier billed at rates the price table does not hold (fast mode, priority). */
  TOLLGATE_ERR_FEE_UNPRICED: { status: 403, openai: 'permission_error', anthropic: 'permission_error' },
  /** The bodies in flight would pass the sidecar's bound (--max-inflight-body-bytes). */
  TOLLGATE_ERR_OVERLOADED: { status: 503, openai: 'server_error', anthropic: 'overloaded_error' },
  TOLLGATE_ERR_BODY_TOO_LARGE: {
    status: 413,
    openai: 'invalid_request_error',
    anthropic: 'request_too_large',
  },
  TOLLGATE_ERR_MODEL_REQUIRED: {
    status: 400,
    openai: 'invalid_request_error',
    anthropic: 'invalid_request_error',
  },
  TOLLGATE_ERR_MODEL_NOT_ALLOWED: { status: 403, openai: 'permission_error', anthropic: 'permission_error' },
  TOLLGATE_ERR_TENANT_SUSPENDED: { status: 403, openai: 'permission_error', anthropic: 'permission_error' },
  TOLLGATE_ERR_CONFIG_UNAVAILABLE: { status: 503, openai: 'server_error', anthropic: 'api_error' },
  TOLLGATE_ERR_CREDENTIAL_MISSING: { status: 503, openai: 'server_error', anthropic: 'api_error' },
  /** Managed mode: the operator's credential exchange refused or could not be reached (logs, /readyz). */
  TOLLGATE_ERR_EXCHANGE_FAILED: { status: 503, openai: 'server_error', anthropic: 'api_error' },
  TOLLGATE_ERR_SHUTTING_DOWN: { status: 503, openai: 'server_error', anthropic: 'overloaded_error' },
  TOLLGATE_ERR_UPSTREAM_CONNECT: { status: 502, openai: 'server_error', anthropic: 'api_error' },
  TOLLGATE_ERR_UPSTREAM_RESET: { status: 502, openai: 'server_error', anthropic: 'api_error' },
  TOLLGATE_ERR_UPSTREAM_CONNECT_TIMEOUT: { status: 504, openai: 'timeout_error', anthropic: 'timeout_error' },
  TOLLGATE_ERR_UPSTREAM_FIRST_BYTE_TIMEOUT: {
    status: 504,
    openai: 'timeout_error',
    anthropic: 'timeout_error',
  },
  TOLLGATE_ERR_UPSTREAM_IDLE_TIMEOUT: { status: 504, openai: 'timeout_error', anthropic: 'timeout_error' },
  /** A request, token or concurrency limit has no room (limits/). */
  TOLLGATE_ERR_QUOTA_EXCEEDED: { status: 429, openai: 'rate_limit_exceeded', anthropic: 'rate_limit_error' },
  /** A cost budget of the period is used up (limits/). */
  TOLLGATE_ERR_BUDGET_EXCEEDED: { status: 429, openai: 'insufficient_quota', anthropic: 'rate_limit_error' },
  /** Redis cannot be asked and the policy's failureMode is closed. */
  TOLLGATE_ERR_LIMITER_UNAVAILABLE: { status: 503, openai: 'server_error', anthropic: 'overloaded_error' },
  /** The circuit breaker of the provider and model is open (or its half-open probes are taken). */
  TOLLGATE_ERR_CIRCUIT_OPEN: { status: 503, openai: 'server_error', anthropic: 'overloaded_error' },
  /** `cache-control: only-if-cached` and no entry. */
  TOLLGATE_ERR_NOT_CACHED: { status: 504, openai: 'timeout_error', anthropic: 'timeout_error' },
  TOLLGATE_ERR_INTERNAL: { status: 500, openai: 'server_error', anthropic: 'api_error' },
  /** Startup only: the configuration (flags, file, compiled config) is unusable. */
  TOLLGATE_ERR_INVALID_CONFIG: { status: 500, openai: 'server_error', anthropic: 'api_error' },
  /** Startup only: a command-line flag is unknown or malformed. */
  TOLLGATE_ERR_INVALID_FLAG: { status: 500, openai: 'server_error', anthropic: 'api_error' },
} as const satisfies Record<string, { status: number; openai: string; anthropic: string }>

export type ErrorCode = keyof typeof ERRORS

/** TollgateError is every error the sidecar raises on purpose; `code` is from ERRORS. */
export class TollgateError extends Error {
  readonly code: ErrorCode
  readonly status: number
  /** The request field at fault (`model`), as OpenAI's `param`. */
  readonly param: string | undefined
  /** Extra response headers, e.g. `retry-after`. */
  readonly headers: Record<string, string> | undefined

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; param?: string; headers?: Record<string, string> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'TollgateError'
    this.code = code
    this.status = ERRORS[code].status
    this.param = options.param
    this.headers = options.headers
  }
}

/** isTollgateError narrows unknown values to TollgateError. */
export const isTollgateError = (error: unknown): error is TollgateError => error instanceof TollgateError

/** asTollgateError keeps a TollgateError and wraps anything else as TOLLGATE_ERR_INTERNAL. */
export const asTollgateError = (error: unknown): TollgateError =>
  isTollgateError(error)
    ? error
    : new TollgateError('TOLLGATE_ERR_INTERNAL', 'internal error in the sidecar', { cause: error })
