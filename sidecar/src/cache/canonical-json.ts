/**
 * writeCanonicalJson serialises a parsed JSON value with object keys sorted (by UTF-16 code
 * units) at every depth, so bodies that differ only in key order or whitespace serialise equally,
 * writing it piece by piece to `write` (a hash's update): a 32 MiB prompt is never built into a
 * second 32 MiB string. Arrays keep their order (it is meaningful: messages, content parts).
 * Numbers are written as JSON.stringify writes them, so `1.0` and `1` are equal, as they are to
 * the provider. The walk is recursive: bodies reach it only within the JSON limits of the body
 * stage (64 levels).
 */
export function writeCanonicalJson(value: unknown, write: (piece: string) => void): void {
  if (value === null || typeof value !== 'object') {
    write(JSON.stringify(value) ?? 'null')
    return
  }
  if (Array.isArray(value)) {
    write('[')
    for (let i = 0; i < value.length; i++) {
      if (i > 0) write(',')
      const item = value[i]
      if (item === undefined) write('null')
      else writeCanonicalJson(item, write)
    }
    write(']')
    return
  }
  const object = value as Record<string, unknown>
  // Object.keys(...).sort() compares by UTF-16 code units
  const names = Object.keys(object).sort()
  let open = '{'
  for (const name of names) {
    const item = object[name]
    if (item === undefined) continue
    write(`${open}${JSON.stringify(name)}:`)
    open = ','
    writeCanonicalJson(item, write)
  }
  write(open === '{' ? '{}' : '}')
}

/** canonicalJson is writeCanonicalJson into one string (tests, small values). */
export function canonicalJson(value: unknown): string {
  const pieces: string[] = []
  writeCanonicalJson(value, (piece) => pieces.push(piece))
  return pieces.join('')
}
