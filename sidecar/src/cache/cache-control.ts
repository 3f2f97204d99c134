/**
 * CacheDirective is what a request's `cache-control` asks of the response cache:
 * - `bypass`: `no-store`. Neither read nor write; `x-tollgate-cache: bypass`.
 * - `refresh`: `no-cache`, `max-age=0`, or `pragma: no-cache` without a cache-control. Do not
 *   read (an LLM answer cannot be revalidated, so revalidation means asking again), store the
 *   fresh answer; `x-tollgate-cache: miss`.
 * - `lookup`: serve an entry if it is at most `maxAgeSeconds` old (`max-age=N`; absent: any
 *   age within the tenant's TTL), else ask and store; `onlyIfCached` (`only-if-cached`) answers
 *   504 on a miss instead of asking.
 * Other directives (`max-stale`, `min-fresh`, `no-transform`, ...) are ignored; when directives
 * conflict the most restrictive wins (no-store > no-cache > max-age).
 */
export type CacheDirective =
  | { mode: 'bypass' }
  | { mode: 'refresh' }
  | { mode: 'lookup'; maxAgeSeconds?: number; onlyIfCached: boolean }

type Headers = Readonly<Record<string, string | string[] | number | undefined>>

const header = (headers: Headers, name: string) => {
  const value = headers[name]
  return Array.isArray(value) ? value.join(',') : value === undefined ? undefined : String(value)
}

const directives = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((d) => d.trim().toLowerCase())
    .filter((d) => d.length > 0)

/** requestDirective reads a request's cache-control (and legacy pragma) headers. */
export function requestDirective(headers: Headers): CacheDirective {
  const cacheControl = header(headers, 'cache-control')
  const list = directives(cacheControl)
  if (list.includes('no-store')) return { mode: 'bypass' }
  if (list.includes('no-cache')) return { mode: 'refresh' }
  if (cacheControl === undefined && directives(header(headers, 'pragma')).includes('no-cache')) {
    return { mode: 'refresh' }
  }
  let maxAgeSeconds: number | undefined
  for (const d of list) {
    const match = /^max-age="?(\d+)"?$/.exec(d)
    if (match) maxAgeSeconds = Math.min(maxAgeSeconds ?? Number.POSITIVE_INFINITY, Number(match[1]))
  }
  if (maxAgeSeconds === 0) return { mode: 'refresh' }
  return {
    mode: 'lookup',
    ...(maxAgeSeconds !== undefined && { maxAgeSeconds }),
    onlyIfCached: list.includes('only-if-cached'),
  }
}

/**
 * isStorableResponse: only a 200 is stored, and not when the provider says `no-store`. (A
 * provider's `private` is honoured by construction: every entry is private to one tenant.)
 */
export function isStorableResponse(status: number, headers: Headers): boolean {
  return status === 200 && !directives(header(headers, 'cache-control')).includes('no-store')
}
