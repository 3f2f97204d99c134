/**
 * formatMicroTime renders a time as metav1.MicroTime (RFC 3339 with exactly six fractional
 * digits). The API server rejects a Lease whose renewTime has three digits, which is what
 * `Date.toISOString` and the client's serializer produce; so Lease times are sent as strings.
 */
export function formatMicroTime(at: Date): string {
  return at.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

/** parseMicroTime reads a MicroTime (or a Date the client already parsed) as epoch milliseconds. */
export function parseMicroTime(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime()
  if (typeof value !== 'string' || value === '') return undefined
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? undefined : ms
}
