/**
 * canonicalJson serialises a parsed JSON value with object keys sorted (by UTF-16 code units)
 * at every depth, so bodies that differ only in key order or whitespace serialise equally.
 * Arrays keep their order (it is meaningful: messages, content parts). Numbers are written as
 * JSON.stringify writes them, so `1.0` and `1` are equal, as they are to the provider.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
}
