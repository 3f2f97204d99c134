/** NormalisedPath is a request path as the sidecar decides on it and sends it upstream. */
export type NormalisedPath = { ok: true; path: string; query: string } | { ok: false; problem: string }

const hex = (c: number) =>
  c >= 0x30 && c <= 0x39
    ? c - 0x30
    : c >= 0x41 && c <= 0x46
      ? c - 0x37
      : c >= 0x61 && c <= 0x66
        ? c - 0x57
        : -1

/** RFC 3986 unreserved characters: ALPHA / DIGIT / "-" / "." / "_" / "~". */
const isUnreserved = (c: number) =>
  (c >= 0x41 && c <= 0x5a) ||
  (c >= 0x61 && c <= 0x7a) ||
  (c >= 0x30 && c <= 0x39) ||
  c === 0x2d ||
  c === 0x2e ||
  c === 0x5f ||
  c === 0x7e

/** RFC 3986 pchar without pct-encoded: unreserved, sub-delims, ":" and "@"; and "/" between segments. */
const isPathChar = (c: number) =>
  isUnreserved(c) ||
  c === 0x21 ||
  (c >= 0x24 && c <= 0x2c) || // $ & ' ( ) * + ,
  c === 0x3b ||
  c === 0x3d ||
  c === 0x3a ||
  c === 0x40 ||
  c === 0x2f

/**
 * normalisePath turns the path below the provider prefix into the one form the sidecar both
 * decides on and sends upstream, so that no spelling of a path can be judged as one endpoint and
 * served as another (Istio normalises the same way since CVE-2021-31920):
 * 1. percent-encoded unreserved characters are decoded (`%63` is `c`), other escapes are kept
 *    with upper-case hex;
 * 2. repeated slashes are merged;
 * 3. `.` and `..` segments are resolved;
 * 4. a trailing slash is dropped.
 * Anything that two servers could read differently is refused instead: an encoded `/` or `\`,
 * an encoded NUL, a broken escape, a `..` above the root, and characters a path cannot hold
 * (a backslash, spaces, controls, non-ASCII bytes unescaped). The query is kept as it came.
 */
export function normalisePath(raw: string): NormalisedPath {
  const q = raw.indexOf('?')
  const path = q === -1 ? raw : raw.slice(0, q)
  const query = q === -1 ? '' : raw.slice(q)
  if (query.includes('#')) return { ok: false, problem: 'a request target cannot carry a fragment' }
  // the common case, a plain path already in its one form, is checked and returned as it is
  const escaped = path.includes('%')
  let decoded = escaped ? '' : path
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i)
    if (c === 0x25) {
      const hi = hex(path.charCodeAt(i + 1))
      const lo = hex(path.charCodeAt(i + 2))
      if (hi === -1 || lo === -1) return { ok: false, problem: `a broken percent-escape at offset ${i}` }
      const byte = hi * 16 + lo
      if (byte === 0x2f || byte === 0x5c) return { ok: false, problem: 'an encoded slash or backslash' }
      if (byte === 0) return { ok: false, problem: 'an encoded NUL' }
      decoded += isUnreserved(byte) ? String.fromCharCode(byte) : `%${path.slice(i + 1, i + 3).toUpperCase()}`
      i += 2
      continue
    }
    if (!isPathChar(c)) {
      return {
        ok: false,
        problem: c === 0x5c ? 'a backslash' : `a character a path cannot hold (code ${c}) at offset ${i}`,
      }
    }
    if (escaped) decoded += path[i]
  }
  const plain =
    decoded.startsWith('/') && !decoded.includes('//') && !decoded.includes('/.') && !decoded.endsWith('/')
  if (plain && decoded.length > 1) return { ok: true, path: decoded, query }
  const segments: string[] = []
  for (const segment of decoded.split('/')) {
    if (segment === '' || segment === '.') continue
    if (segment === '..') {
      if (segments.length === 0) return { ok: false, problem: 'a .. segment above the root' }
      segments.pop()
      continue
    }
    segments.push(segment)
  }
  return { ok: true, path: `/${segments.join('/')}`, query }
}
