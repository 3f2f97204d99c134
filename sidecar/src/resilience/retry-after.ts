type Headers = Readonly<Record<string, string | string[] | number | undefined>>

const first = (value: string | string[] | number | undefined) =>
  Array.isArray(value) ? value[0] : value === undefined ? undefined : String(value)

/**
 * parseRetryAfter returns how long (ms) a response asks the caller to wait, or undefined:
 * `retry-after-ms` (OpenAI, milliseconds) first, then `retry-after` as delta-seconds (decimals
 * accepted) or an HTTP-date. A date in the past means 0.
 */
export function parseRetryAfter(headers: Headers, now: number): number | undefined {
  const ms = first(headers['retry-after-ms'])?.trim()
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.ceil(Number(ms))
  const value = first(headers['retry-after'])?.trim()
  if (!value) return undefined
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000)
  // HTTP-date in any of its three forms starts with a day name; Date.parse alone takes "-1" for a year.
  const date = /^[A-Za-z]{3}/.test(value) ? Date.parse(value) : Number.NaN
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}
