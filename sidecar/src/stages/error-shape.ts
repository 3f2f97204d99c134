import type { IncomingHttpHeaders } from 'node:http'
import type { ProviderType } from '@tollgate/api'
import { ERRORS, type TollgateError } from '../errors.ts'

/** ErrorShape is whose JSON error format a response takes. */
export type ErrorShape = 'openai' | 'anthropic'

/**
 * shapeFor picks the error format: the provider's type when the route named one, otherwise a
 * guess from the request (Anthropic's SDK always sends `anthropic-version`).
 */
export function shapeFor(type: ProviderType | undefined, headers: IncomingHttpHeaders): ErrorShape {
  if (type) return type === 'anthropic' ? 'anthropic' : 'openai'
  return headers['anthropic-version'] !== undefined ? 'anthropic' : 'openai'
}

/** errorBody renders a TollgateError as the provider's own error JSON. */
export function errorBody(shape: ErrorShape, error: TollgateError, requestId: string): string {
  const entry = ERRORS[error.code]
  if (shape === 'anthropic') {
    return JSON.stringify({
      type: 'error',
      error: { type: entry.anthropic, message: error.message, code: error.code },
      request_id: requestId,
    })
  }
  return JSON.stringify({
    error: { message: error.message, type: entry.openai, code: error.code, param: error.param ?? null },
  })
}

/**
 * streamErrorEvent is the SSE event that ends a stream that broke after its head was sent: the
 * OpenAI SDK throws on a `data:` object with `error`, the Anthropic SDK on `event: error`.
 */
export function streamErrorEvent(shape: ErrorShape, error: TollgateError, requestId: string): string {
  const body = errorBody(shape, error, requestId)
  return shape === 'anthropic' ? `event: error\ndata: ${body}\n\n` : `data: ${body}\n\n`
}
