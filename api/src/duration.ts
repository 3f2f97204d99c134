/** Go-style duration strings as the CRDs accept them: `200ms`, `5s`, `1h30m`. */
export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$'

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }
const PART = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g

/** parseDuration turns a duration string into milliseconds; it throws on anything else. */
export function parseDuration(text: string): number {
  if (!new RegExp(DURATION_PATTERN).test(text)) {
    throw new Error(`invalid duration ${JSON.stringify(text)}: expected e.g. 200ms, 5s, 1h30m`)
  }
  let ms = 0
  for (const [, amount, unit] of text.matchAll(PART)) ms += Number(amount) * (UNIT_MS[unit as string] ?? 0)
  return Math.round(ms)
}
