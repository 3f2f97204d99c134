import type { IncomingHttpHeaders } from 'node:http'
import type { RuntimeProvider } from '../config/runtime-config.ts'

/** Response headers never forwarded: hop-by-hop and framing. */
const DROP_RESPONSE = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
])

const connectionTokens = (value: string | string[] | undefined): string[] =>
  value === undefined || value === 'keep-alive' || value === 'close'
    ? []
    : (Array.isArray(value) ? value.join(',') : value)
        .split(',')
        .map((t) => t.trim().toLowerCase())
        .filter(Boolean)

/**
 * upstreamHeaders builds the provider request's headers: the app's headers that the provider's
 * allow-list lets through (forwarded-headers.ts; never its placeholder key, hop-by-hop or billing
 * headers), the Tenant's own headers for the provider (billing), the real key, the body length,
 * `accept-encoding: identity` (usage is read from the body, which must not be compressed) and the
 * trace headers.
 */
export function upstreamHeaders(
  incoming: IncomingHttpHeaders,
  provider: RuntimeProvider,
  key: string | undefined,
  bodyLength: number | undefined,
  requestId: string,
  trace: Record<string, string> | undefined,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const name in incoming) {
    if (!provider.forward.allows(name)) continue
    const value = incoming[name]
    if (value !== undefined) out[name] = value
  }
  if (incoming.connection !== undefined)
    for (const token of connectionTokens(incoming.connection)) delete out[token]
  for (const name in provider.headers) out[name] = provider.headers[name] as string
  if (key !== undefined)
    out[provider.credentialHeader] = provider.credentialHeader === 'authorization' ? `Bearer ${key}` : key
  if (bodyLength !== undefined) out['content-length'] = String(bodyLength)
  out['accept-encoding'] = 'identity'
  out['x-request-id'] = requestId
  if (trace) for (const name in trace) out[name] = trace[name] as string
  return out
}

/** responseHeaders filters the provider's response headers for the client. */
export function responseHeaders(
  incoming: IncomingHttpHeaders,
  dropLength: boolean,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const name in incoming) {
    if (DROP_RESPONSE.has(name) || (dropLength && name === 'content-length')) continue
    const value = incoming[name]
    if (value !== undefined) out[name] = value
  }
  if (incoming.connection !== undefined)
    for (const token of connectionTokens(incoming.connection)) delete out[token]
  return out
}
