const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const COLON = 0x3a
const COMMA = 0x2c
/** Keys longer than this are no key we follow. */
const MAX_KEY_BYTES = 64
/** Container kinds per nesting level. */
const OBJECT = 1
const ARRAY = 2

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

/** JsonLimits bound a document while it is read: nesting depth, containers and values. */
export interface JsonLimits {
  maxDepth: number
  /** Objects and arrays (each costs some 50 bytes of heap once parsed). */
  maxContainers: number
  /** Every value, containers included. */
  maxValues: number
}

/** JsonPaths are key paths compiled once: the paths and the objects on the way to them. */
export interface JsonPaths {
  readonly wanted: ReadonlySet<string>
  /** Paths of the objects a wanted path goes through ('' is the top-level object). */
  readonly prefixes: ReadonlySet<string>
}

/** jsonPaths compiles dotted key paths (`usage`, `response.usage`) for JsonFieldReader. */
export function jsonPaths(paths: readonly string[]): JsonPaths {
  const prefixes = new Set<string>()
  for (const path of paths) {
    const keys = path.split('.')
    for (let n = 0; n < keys.length; n++) prefixes.add(keys.slice(0, n).join('.'))
  }
  return { wanted: new Set(paths), prefixes }
}

const NO_PATHS = jsonPaths([])

/** Capture is the bytes of one wanted value as they stream past. */
interface Capture {
  path: string
  /** Depth of the container the value sits in; a container value ends when depth returns here. */
  depth: number
  kind: 'container' | 'string' | 'scalar'
  chunks: Buffer[]
  size: number
}

/**
 * JsonFieldReader finds values in a JSON document by their key path (`usage`, `response.usage`)
 * as the document streams past, keeping only the bytes of those values: a body or an event of
 * any size is read in the memory of the values asked for. Keys are matched by structure (only
 * object members at exactly that path count; a `usage` key inside `metadata` or a string is not
 * `usage`), never by searching the text. A wanted value larger than `maxValueBytes` is dropped and
 * its path reported in `overflowed`. With `limits` it also checks the document's depth and size
 * while it is read, and stops at the first limit passed (`exceeded`).
 *
 * The scanner tracks strings (with escapes across chunk boundaries), nesting and key positions;
 * it reads keys only inside objects on the way to a wanted path, and does not validate the
 * grammar: a captured value is parsed with JSON.parse and dropped when that fails. Hand-written
 * because the streaming JSON parsers on npm build every value and run about ten times slower
 * than this byte loop over the bodies providers send (60 MB of embeddings: 6.4 s with
 * @streamparser/json, 0.6 s here, about JSON.parse's own speed).
 */
export class JsonFieldReader {
  readonly #wanted: ReadonlySet<string>
  readonly #prefixes: ReadonlySet<string>
  readonly #maxValueBytes: number
  readonly #limits: JsonLimits | undefined
  #depth = 0
  /** Per nesting level: the container's kind, and its path when it lies on a wanted path. */
  #kind: number[] = []
  #path: (string | undefined)[] = []
  /** The current key of each object on a wanted path. */
  #key: (string | undefined)[] = []
  #inString = false
  /** The string being read is a key of an object on a wanted path. */
  #stringIsKey = false
  /** A backslash ended the previous chunk inside a string. */
  #escaped = false
  /** A key that spans chunks, and the offset where a key started in the current chunk. */
  #keyParts: Buffer[] = []
  #keySize = 0
  #keyStart = -1
  /** In an object, after `{` or `,` and before the key. */
  #expectKey = false
  #capture: Capture | undefined = undefined
  readonly #values = new Map<string, unknown>()
  /** Paths whose value was larger than maxValueBytes, and so dropped. */
  readonly overflowed = new Set<string>()
  #containers = 0
  #count = 0
  /** Which limit the document passed; the reader stops reading once one is. */
  exceeded: 'depth' | 'containers' | 'values' | undefined = undefined

  /**
   * @param paths the values to keep (jsonPaths, or dotted paths such as `usage`, `response.usage`).
   * @param limits when given, the document is checked against them as it is read.
   */
  constructor(paths: JsonPaths | readonly string[], maxValueBytes = 1 << 20, limits?: JsonLimits) {
    const compiled = Array.isArray(paths)
      ? paths.length === 0
        ? NO_PATHS
        : jsonPaths(paths)
      : (paths as JsonPaths)
    this.#wanted = compiled.wanted
    this.#prefixes = compiled.prefixes
    this.#maxValueBytes = maxValueBytes
    this.#limits = limits
  }

  /** reset makes the reader ready for a new document (the next event of a stream). */
  reset(): void {
    this.#depth = 0
    this.#inString = false
    this.#stringIsKey = false
    this.#escaped = false
    this.#keyParts = []
    this.#keySize = 0
    this.#keyStart = -1
    this.#expectKey = false
    this.#capture = undefined
    this.#values.clear()
    this.overflowed.clear()
    this.#containers = 0
    this.#count = 0
    this.exceeded = undefined
  }

  /** values are the wanted values found and complete so far, by path. */
  get values(): ReadonlyMap<string, unknown> {
    return this.#values
  }

  /** write scans buf[start, end). */
  write(buf: Buffer, start = 0, end = buf.length): void {
    if (this.exceeded) return
    let i = start
    let from = this.#capture ? start : -1
    if (this.#stringIsKey && this.#inString) this.#keyStart = start
    while (i < end) {
      if (this.#inString) {
        const close = this.#stringEnd(buf, i, end)
        if (close === -1) {
          if (this.#stringIsKey) this.#keyPart(buf, end)
          i = end
          break
        }
        if (this.#stringIsKey) this.#keyDone(buf, close)
        this.#inString = false
        i = close + 1
        if (this.#capture?.kind === 'string' && this.#capture.depth === this.#depth) {
          this.#finish(buf, from, i)
          from = -1
        }
        continue
      }
      const c = buf[i] as number
      if (isSpace(c)) {
        if (this.#capture?.kind === 'scalar') {
          this.#finish(buf, from, i)
          from = -1
        }
        i++
        continue
      }
      if (this.#capture?.kind === 'scalar' && (c === COMMA || c === CLOSE_OBJECT || c === CLOSE_ARRAY)) {
        this.#finish(buf, from, i)
        from = -1
      }
      if (c === QUOTE) {
        if (this.#expectKey) {
          // a key: read only in an object on a wanted path
          this.#stringIsKey = this.#path[this.#depth] !== undefined
          this.#keyParts = []
          this.#keySize = 0
          this.#keyStart = i + 1
        } else {
          this.#stringIsKey = false
          if (!this.#counted(false)) return
          if (!this.#capture && this.#startValue('string')) from = i
        }
        this.#inString = true
        i++
        continue
      }
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        if (!this.#counted(true)) return
        if (!this.#capture && this.#startValue('container')) from = i
        const parent = this.#depth
        const depth = ++this.#depth
        this.#kind[depth] = c === OPEN_OBJECT ? OBJECT : ARRAY
        this.#key[depth] = undefined
        this.#path[depth] = c === OPEN_OBJECT ? this.#childPath(parent) : undefined
        this.#expectKey = c === OPEN_OBJECT
        i++
        continue
      }
      if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        this.#depth--
        this.#expectKey = false
        i++
        if (this.#capture?.kind === 'container' && this.#capture.depth === this.#depth) {
          this.#finish(buf, from, i)
          from = -1
        }
        continue
      }
      if (c === COLON) {
        this.#expectKey = false
        i++
        continue
      }
      if (c === COMMA) {
        this.#expectKey = this.#kind[this.#depth] === OBJECT
        i++
        continue
      }
      // the first byte of a number or of true, false, null
      if (!this.#counted(false)) return
      if (!this.#capture && this.#startValue('scalar')) from = i
      i++
      // the rest of the scalar
      while (i < end) {
        const d = buf[i] as number
        if (isSpace(d) || d === COMMA || d === CLOSE_OBJECT || d === CLOSE_ARRAY || d === QUOTE) break
        i++
      }
    }
    if (this.#capture && from !== -1 && from < end) this.#append(this.#capture, buf, from, end)
  }

  /** end finishes a document that ends in a scalar (a bare number at the top level). */
  end(): void {
    if (this.#capture?.kind === 'scalar') this.#finish(Buffer.alloc(0), -1, 0)
    this.#capture = undefined
  }

  /** #counted counts one value (and a container); false once a limit is passed. */
  #counted(container: boolean): boolean {
    const limits = this.#limits
    if (!limits) return true
    this.#count++
    if (container) this.#containers++
    if (this.#depth + (container ? 1 : 0) > limits.maxDepth) this.exceeded = 'depth'
    else if (this.#containers > limits.maxContainers) this.exceeded = 'containers'
    else if (this.#count > limits.maxValues) this.exceeded = 'values'
    return this.exceeded === undefined
  }

  /** #valuePath is the path of a value starting in the container at depth, when that is followed. */
  #valuePath(depth: number): string | undefined {
    if (depth === 0) return ''
    const parent = this.#path[depth]
    const key = this.#key[depth]
    if (parent === undefined || key === undefined || this.#kind[depth] !== OBJECT) return undefined
    return parent === '' ? key : `${parent}.${key}`
  }

  /** #childPath is the path of an object opening as a value at depth, when it leads to a wanted path. */
  #childPath(depth: number): string | undefined {
    const path = this.#valuePath(depth)
    return path !== undefined && this.#prefixes.has(path) ? path : undefined
  }

  /** #startValue begins a capture when the value starting here sits at a wanted path. */
  #startValue(kind: Capture['kind']): boolean {
    const depth = this.#depth
    if (depth === 0 || this.#path[depth] === undefined) return false
    const path = this.#valuePath(depth)
    if (path === undefined || !this.#wanted.has(path)) return false
    this.#capture = { path, depth, kind, chunks: [], size: 0 }
    return true
  }

  #append(capture: Capture, buf: Buffer, from: number, to: number): void {
    if (capture.size < 0) return
    capture.size += to - from
    if (capture.size > this.#maxValueBytes) {
      capture.size = -1
      capture.chunks = []
      this.overflowed.add(capture.path)
      return
    }
    // a copy: the chunk belongs to the caller and is not kept alive by a small value
    capture.chunks.push(Buffer.from(buf.subarray(from, to)))
  }

  #finish(buf: Buffer, from: number, to: number): void {
    const capture = this.#capture as Capture
    this.#capture = undefined
    let text: string
    if (capture.chunks.length === 0 && capture.size === 0 && from !== -1) {
      // the whole value is in this chunk: read it from there, no copy
      if (to - from > this.#maxValueBytes) {
        this.overflowed.add(capture.path)
        return
      }
      text = buf.toString('utf8', from, to)
    } else {
      if (from !== -1) this.#append(capture, buf, from, to)
      if (capture.size < 0) return
      text = Buffer.concat(capture.chunks).toString('utf8')
    }
    try {
      this.#values.set(capture.path, JSON.parse(text))
    } catch {
      // a malformed value carries nothing we can trust
    }
  }

  /** #stringEnd is the index of the quote that closes the string, or -1 when it goes on past end. */
  #stringEnd(buf: Buffer, i: number, end: number): number {
    let at = i
    if (this.#escaped) {
      // the previous chunk ended in an odd run of backslashes: the first byte here is escaped
      this.#escaped = false
      at++
    }
    while (at < end) {
      const quote = buf.indexOf(QUOTE, at)
      const stop = quote === -1 || quote >= end ? end : quote
      // the backslashes right before the quote (or the chunk end): an odd run escapes it
      let run = 0
      for (let k = stop - 1; k >= at && buf[k] === BACKSLASH; k--) run++
      if (stop === end) {
        if (run % 2 === 1) this.#escaped = true
        return -1
      }
      if (run % 2 === 0) return stop
      at = stop + 1
    }
    return -1
  }

  /** #keyPart keeps the part of a key that ends this chunk (a key spanning chunks is rare). */
  #keyPart(buf: Buffer, to: number): void {
    const from = this.#keyStart
    this.#keySize += to - from
    if (this.#keySize <= MAX_KEY_BYTES) this.#keyParts.push(Buffer.from(buf.subarray(from, to)))
  }

  /** #keyDone sets the key of the current object from the key that closes at `close`. */
  #keyDone(buf: Buffer, close: number): void {
    const from = this.#keyStart
    const size = this.#keySize + close - from
    let key: string | undefined
    if (size <= MAX_KEY_BYTES) {
      // latin1 is exact for the ASCII names followed; any other key matches none of them anyway
      const raw =
        this.#keyParts.length === 0
          ? buf.toString('latin1', from, close)
          : Buffer.concat([...this.#keyParts, buf.subarray(from, close)]).toString('latin1')
      if (!raw.includes('\\')) key = raw
      else {
        try {
          key = JSON.parse(`"${raw}"`) as string
        } catch {
          key = undefined
        }
      }
    }
    // a key too long to be one we follow still replaces the previous key of its object
    this.#key[this.#depth] = key ?? '\u0000'
    this.#stringIsKey = false
    this.#keyParts = []
    this.#keySize = 0
  }
}
