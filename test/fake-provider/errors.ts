import { type Exchange, type Provider, sendJson } from './exchange.ts'

/** ErrorDetails are the optional OpenAI `param`/`code` fields and extra response headers. */
export interface ErrorDetails {
  param?: string | null
  code?: string | null
  headers?: Record<string, string>
}

const OPENAI_TYPES: Record<number, string> = {
  401: 'invalid_request_error',
  403: 'permission_error',
  429: 'requests',
}

const OPENAI_CODES: Record<number, string> = {
  401: 'invalid_api_key',
  429: 'rate_limit_exceeded',
}

const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
}

/**
 * ProviderError is an answer the fake gives in the provider's error shape (bad request, wrong key,
 * unknown route, injected failure). Handlers throw it; the server turns it into the response.
 */
export class ProviderError extends Error {
  readonly code = 'TOLLGATE_ERR_FAKE_PROVIDER_ANSWER'
  readonly status: number
  readonly details: ErrorDetails

  constructor(status: number, message: string, details: ErrorDetails = {}) {
    super(message)
    this.status = status
    this.details = details
  }
}

/** errorBody is an error in the provider's own JSON shape. */
export const errorBody = (
  provider: Provider,
  status: number,
  message: string,
  requestId: string,
  details: ErrorDetails = {},
) => {
  if (provider === 'anthropic') {
    const type = ANTHROPIC_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error')
    return { type: 'error', error: { type, message }, request_id: requestId }
  }
  const type = OPENAI_TYPES[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error')
  return {
    error: {
      message,
      type,
      param: details.param ?? null,
      code: details.code ?? OPENAI_CODES[status] ?? null,
    },
  }
}

/** sendError answers an error in the exchange's provider shape. */
export const sendError = (ex: Exchange, status: number, message: string, details: ErrorDetails = {}) =>
  sendJson(
    ex,
    status,
    errorBody(ex.provider, status, message, providerRequestId(ex.id), details),
    details.headers,
  )

/** providerRequestId is the id sent in `x-request-id` (OpenAI) or `request-id` (Anthropic). */
export const providerRequestId = (id: string) => `req_fake_${id}`

/** requireModel returns the request's `model`, or throws the 400 the provider answers without one. */
export const requireModel = (provider: Provider, body: Record<string, unknown>): string => {
  if (typeof body.model === 'string' && body.model !== '') return body.model
  throw new ProviderError(
    400,
    provider === 'anthropic' ? 'model: Field required' : 'you must provide a model parameter',
    { param: 'model' },
  )
}
