/** STORED_HEADERS are the response headers an entry keeps; ids, dates and limits are per response. */
export const STORED_HEADERS = ['content-type', 'content-encoding', 'openai-model', 'openai-version'] as const

/** CacheBody is one buffer, or for a streamed response the SSE chunks exactly as they were sent. */
export type CacheBody = { kind: 'buffer'; data: Buffer } | { kind: 'sse'; chunks: Buffer[] }

/** CacheEntry is one stored response. */
export interface CacheEntry {
  /** The tenant that stored it; a read by any other tenant is refused whatever the key. */
  tenant: string
  /** Epoch ms when it was stored; `age` is computed from it. */
  storedAt: number
  /** Epoch ms after which it is never served. */
  expiresAt: number
  status: number
  headers: Record<string, string>
  body: CacheBody
  /** What the stored call cost (nano-USD): what a hit saves. Absent in entries of older sidecars. */
  costNano?: number
}

const MAGIC = Buffer.from('TGC1')

interface Meta {
  tenant: string
  storedAt: number
  expiresAt: number
  status: number
  headers: Record<string, string>
  kind: CacheBody['kind']
  lengths: number[]
  costNano?: number
}

const parts = (body: CacheBody) => (body.kind === 'buffer' ? [body.data] : body.chunks)

/** bodyBytes is the size of the body alone, what maxEntryBytes bounds. */
export const bodyBytes = (body: CacheBody) => parts(body).reduce((n, p) => n + p.length, 0)

/** entrySize approximates an entry's memory: body plus its metadata as JSON. */
export const entrySize = (entry: CacheEntry) =>
  bodyBytes(entry.body) + 256 + JSON.stringify(entry.headers).length + entry.tenant.length

/**
 * ownCopy copies parts into one allocation of exactly their size: `whole`, and a view of it per
 * part. A cache entry lives for its TTL, so it must not keep a slice of memory it does not own: a
 * small Buffer from Buffer.from or Buffer.concat is a slice of an 8 KiB pool slab shared with
 * short-lived buffers, and a Buffer from a socket a slice of the whole read. Either would keep
 * many times the entry's size alive, unseen by the LRU's byte bound.
 */
export function ownCopy(parts: readonly Uint8Array[]): { whole: Buffer; parts: Buffer[] } {
  let total = 0
  for (const part of parts) total += part.length
  const whole = Buffer.allocUnsafeSlow(total)
  const views: Buffer[] = []
  let offset = 0
  for (const part of parts) {
    whole.set(part, offset)
    views.push(whole.subarray(offset, offset + part.length))
    offset += part.length
  }
  return { whole, parts: views }
}

/** pickHeaders keeps the STORED_HEADERS of a response. */
export function pickHeaders(headers: Readonly<Record<string, string | string[] | number | undefined>>) {
  const kept: Record<string, string> = {}
  for (const name of STORED_HEADERS) {
    const value = headers[name]
    if (value !== undefined) kept[name] = Array.isArray(value) ? value.join(', ') : String(value)
  }
  return kept
}

/**
 * encodeEntry writes an entry as `TGC1`, a 4-byte metadata length, metadata JSON, then the body
 * bytes: binary-safe with no base64 inflation, and chunk boundaries kept as lengths.
 */
export function encodeEntry(entry: CacheEntry): Buffer {
  const chunks = parts(entry.body)
  const meta: Meta = {
    tenant: entry.tenant,
    storedAt: entry.storedAt,
    expiresAt: entry.expiresAt,
    status: entry.status,
    headers: entry.headers,
    kind: entry.body.kind,
    lengths: chunks.map((c) => c.length),
    ...(entry.costNano !== undefined && { costNano: entry.costNano }),
  }
  const json = Buffer.from(JSON.stringify(meta))
  const length = Buffer.alloc(4)
  length.writeUInt32BE(json.length)
  return Buffer.concat([MAGIC, length, json, ...chunks])
}

/** decodeEntry reads encodeEntry's format; it throws on anything else. */
export function decodeEntry(data: Buffer): CacheEntry {
  if (data.length < 8 || !data.subarray(0, 4).equals(MAGIC)) throw new Error('decode cache entry: bad magic')
  const metaLength = data.readUInt32BE(4)
  const meta = JSON.parse(data.subarray(8, 8 + metaLength).toString('utf8')) as Meta
  let offset = 8 + metaLength
  const parts: Buffer[] = []
  for (const length of meta.lengths) {
    parts.push(data.subarray(offset, offset + length))
    offset += length
  }
  if (offset !== data.length) throw new Error('decode cache entry: length mismatch')
  const owned = ownCopy(parts)
  const body: CacheBody =
    meta.kind === 'sse' ? { kind: 'sse', chunks: owned.parts } : { kind: 'buffer', data: owned.whole }
  return {
    tenant: meta.tenant,
    storedAt: meta.storedAt,
    expiresAt: meta.expiresAt,
    status: meta.status,
    headers: meta.headers,
    body,
    ...(Number.isSafeInteger(meta.costNano) && { costNano: meta.costNano as number }),
  }
}
