import type { RateLimitState, Rejection } from './limiter.ts'

/**
 * formatReset writes a duration the way OpenAI's `x-ratelimit-reset-*` headers do: `20ms`,
 * `1.5s`, `6m0s`, `1h2m3s`.
 */
export function formatReset(ms: number): string {
  const total = Math.max(0, Math.round(ms))
  if (total < 1_000) return `${total}ms`
  const hours = Math.floor(total / 3_600_000)
  const minutes = Math.floor((total % 3_600_000) / 60_000)
  // whole milliseconds over 1000 print as their shortest decimal: `1.5`, `20.123`, `6`
  const s = `${(total % 60_000) / 1_000}s`
  if (hours > 0) return `${hours}h${minutes}m${s}`
  if (minutes > 0) return `${minutes}m${s}`
  return s
}

const FAMILIES = (['requests', 'tokens'] as const).map(
  (family) =>
    [
      family,
      `x-ratelimit-limit-${family}`,
      `x-ratelimit-remaining-${family}`,
      `x-ratelimit-reset-${family}`,
    ] as const,
)

/**
 * rateLimitHeaders renders the OpenAI-style headers every response carries:
 * `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, for the limits that apply.
 */
export function rateLimitHeaders(state: RateLimitState, now: number): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [family, limit, remaining, reset] of FAMILIES) {
    const info = state[family]
    if (!info) continue
    headers[limit] = String(info.limit)
    headers[remaining] = String(info.remaining)
    headers[reset] = formatReset(info.resetAt - now)
  }
  return headers
}

/** rejectionHeaders are the headers of a 429/503: `retry-after` plus the rate limit headers. */
export const rejectionHeaders = (rejection: Rejection, now: number): Record<string, string> => ({
  'retry-after': String(rejection.retryAfterSeconds),
  ...rateLimitHeaders(rejection.rateLimit, now),
})
