import type { NetworkFailure } from '../context.ts'
import { type ErrorCode, TollgateError } from '../errors.ts'

const CONNECT_ERRNOS = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

const BY_FAILURE: Record<NetworkFailure, ErrorCode> = {
  connect: 'TOLLGATE_ERR_UPSTREAM_CONNECT',
  connect_timeout: 'TOLLGATE_ERR_UPSTREAM_CONNECT_TIMEOUT',
  first_byte_timeout: 'TOLLGATE_ERR_UPSTREAM_FIRST_BYTE_TIMEOUT',
  idle_timeout: 'TOLLGATE_ERR_UPSTREAM_IDLE_TIMEOUT',
  reset: 'TOLLGATE_ERR_UPSTREAM_RESET',
}

const DESCRIBE: Record<NetworkFailure, string> = {
  connect: 'cannot connect to',
  connect_timeout: 'timed out connecting to',
  first_byte_timeout: 'no response in time from',
  idle_timeout: 'stream went idle from',
  reset: 'connection lost to',
}

/** failureOf classifies an undici or socket error. */
export function failureOf(error: Error): NetworkFailure {
  const code = (error as { code?: string }).code ?? (error.cause as { code?: string } | undefined)?.code
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connect_timeout'
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'first_byte_timeout'
    case 'UND_ERR_BODY_TIMEOUT':
      return 'idle_timeout'
    default:
      return code !== undefined && CONNECT_ERRNOS.has(code) ? 'connect' : 'reset'
  }
}

/** upstreamError turns a failure into the catalogue error the client sees (502 or 504). */
export function upstreamError(
  failure: NetworkFailure,
  provider: string,
  origin: string,
  cause: Error,
  timeoutMs?: number,
): TollgateError {
  const code = (cause as { code?: string }).code ?? (cause.cause as { code?: string } | undefined)?.code
  const detail =
    timeoutMs !== undefined && failure.endsWith('timeout') ? `after ${timeoutMs} ms` : (code ?? cause.message)
  return new TollgateError(
    BY_FAILURE[failure],
    `${DESCRIBE[failure]} provider ${provider} (${origin}): ${detail}`,
    {
      cause,
    },
  )
}
