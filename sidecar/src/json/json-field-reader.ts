const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const COLON = 0x3a
const COMMA = 0x2c
/** Key paths are followed this deep; deeper values are skipped by counting brackets only. */
const MAX_PATH_DEPTH = 4
const MAX_KEY_BYTES = 64

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

/** JsonLimits bound a document while it is read: nesting depth, containers and values. */
export interface JsonLimits {
  maxDepth: number
  /** Objects and arrays (each costs some 50 bytes of heap once parsed). */
  maxContainers: number
  /** Every value, containers included. */
  maxValues: number
}

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
 * its path reported in `overflowed`.
 *
 * The scanner tracks strings (with escapes across chunk boundaries), nesting and key positions;
 * it does not validate the grammar: a captured value is parsed with JSON.parse and dropped when
 * that fails. Hand-written because the streaming JSON parsers on npm build every value and run
 * about ten times slower than this byte loop over the bodies providers send (60 MB of
 * embeddings: 6.4 s with @streamparser/json, 0.6 s here, about JSON.parse's own speed).
 */
export class JsonFieldReader {
  readonly #wanted: ReadonlySet<string>
  readonly #maxValueBytes: number
  #depth = 0
  /** Per nesting level up to MAX_PATH_DEPTH: 1 object, 2 array; and the current key of objects. */
  #kind: number[] = []
  #key: (string | undefined)[] = []
  #inString = false
  /** The string being read is an object key at a followed depth. */
  #stringIsKey = false
  /** A backslash ended the previous chunk inside a string. */
  #escaped = false
  #keyBytes: Buffer[] = []
  #keySize = 0
  /** In an object, after `{` or `,` and before the key. */
  #expectKey = false
  #capture: Capture | undefined = undefined
  #values = new Map<string, unknown>()
  /** Paths whose value was larger than maxValueBytes, and so dropped. */
  readonly overflowed = new Set<string>()
  readonly #limits: JsonLimits | undefined
  #containers = 0
  #count = 0
  /** Which limit the document passed; the reader stops reading once one is. */
  exceeded: 'depth' | 'containers' | 'values' | undefined = undefined

  /**
   * @param paths dotted key paths of the values to keep, e.g. `usage`, `response.usage`.
   * @param limits when given, the document is checked against them as it is read.
   */
  constructor(paths: readonly string[], maxValueBytes = 1 << 20, limits?: JsonLimits) {
    this.#wanted = new Set(paths)
    this.#maxValueBytes = maxValueBytes
    this.#limits = limits
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

  /** reset makes the reader ready for a new document (the next event of a stream). */
  reset(): void {
    this.#depth = 0
    this.#kind.length = 0
    this.#key.length = 0
    this.#inString = false
    this.#stringIsKey = false
    this.#escaped = false
    this.#keyBytes = []
    this.#keySize = 0
    this.#expectKey = false
    this.#capture = undefined
    this.#values = new Map()
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
    while (i < end) {
      if (this.#inString) {
        const close = this.#stringEnd(buf, i, end)
        if (close === -1) {
          if (this.#stringIsKey) this.#keyPart(buf, i, end)
          i = end
          break
        }
        if (this.#stringIsKey) {
          this.#keyPart(buf, i, close)
          this.#keyDone()
        }
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
        const inObject = this.#kindAt(this.#depth) === 1
        if (inObject && this.#expectKey) {
          this.#stringIsKey = this.#depth <= MAX_PATH_DEPTH
          this.#keyBytes = []
          this.#keySize = 0
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
        this.#depth++
        if (this.#depth <= MAX_PATH_DEPTH) {
          this.#kind[this.#depth] = c === OPEN_OBJECT ? 1 : 2
          this.#key[this.#depth] = undefined
        }
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
        this.#expectKey = this.#kindAt(this.#depth) === 1
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
    if (this.#capture && from !== -1 && from < end) this.#append(buf, from, end)
  }

  /** end finishes a document that ends in a scalar (a bare number at the top level). */
  end(): void {
    if (this.#capture?.kind === 'scalar') this.#finish(Buffer.alloc(0), -1, 0)
    this.#capture = undefined
  }

  #kindAt(depth: number): number {
    return depth >= 1 && depth <= MAX_PATH_DEPTH ? (this.#kind[depth] as number) : 0
  }

  /** #startValue begins a capture when the value starting here sits at a wanted path. */
  #startValue(kind: Capture['kind']): boolean {
    const depth = this.#depth
    if (depth < 1 || depth > MAX_PATH_DEPTH || this.#kind[depth] !== 1) return false
    let path = ''
    for (let level = 1; level <= depth; level++) {
      const key = this.#key[level]
      if (this.#kind[level] !== 1 || key === undefined) return false
      path = level === 1 ? key : `${path}.${key}`
    }
    if (!this.#wanted.has(path)) return false
    this.#capture = { path, depth, kind, chunks: [], size: 0 }
    return true
  }

  #append(buf: Buffer, from: number, to: number): void {
    const capture = this.#capture as Capture
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
    if (from !== -1) {
      this.#capture = capture
      this.#append(buf, from, to)
      this.#capture = undefined
    }
    if (capture.size < 0) return
    try {
      this.#values.set(capture.path, JSON.parse(Buffer.concat(capture.chunks).toString('utf8')))
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

  #keyPart(buf: Buffer, from: number, to: number): void {
    if (this.#keySize > MAX_KEY_BYTES) return
    this.#keySize += to - from
    if (this.#keySize <= MAX_KEY_BYTES) this.#keyBytes.push(Buffer.from(buf.subarray(from, to)))
  }

  #keyDone(): void {
    const depth = this.#depth
    let key: string | undefined
    if (this.#keySize <= MAX_KEY_BYTES) {
      const raw = Buffer.concat(this.#keyBytes).toString('utf8')
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
    this.#key[depth] = key ?? '\u0000'
    this.#stringIsKey = false
  }
}
