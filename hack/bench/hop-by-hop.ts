import type { IncomingHttpHeaders } from 'node:http'

/** HOP_BY_HOP are the headers a proxy does not pass on (RFC 9110 section 7.6.1, and `host`). */
export const HOP_BY_HOP = new Set([
  'host',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
])

/** withoutHopByHop copies headers without the hop-by-hop ones (and without `skip`). */
export function withoutHopByHop(
  headers: IncomingHttpHeaders,
  skip?: string,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const name in headers) {
    const value = headers[name]
    if (!HOP_BY_HOP.has(name) && name !== skip && value !== undefined) out[name] = value
  }
  return out
}
