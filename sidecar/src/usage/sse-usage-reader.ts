import { JsonFieldReader } from '../json/json-field-reader.ts'
import { STRIP_FIELDS, USAGE_FIELDS, USAGE_PATHS, type UsageAccumulator } from './usage-accumulator.ts'

const LF = 0x0a
const CR = 0x0d
const COLON = 0x3a
const SPACE = 0x20
const NEWLINE = Buffer.from('\n')
const DATA = 'data'
/** In strip mode an event is held until it ends; one this large cannot be the usage-only chunk. */
const MAX_HELD_EVENT = 64 * 1024
/** The data of an event up to this size is kept (as references) until the event ends. */
const SMALL_EVENT = 64 * 1024
const USAGE = Buffer.from('usage')
const ESCAPE = Buffer.from('\\u')

/**
 * mayHoldUsageObject is false only for JSON that cannot have a key `usage` whose value is an
 * object: no `usage"` followed by a colon and `{` (whitespace allowed), and no `\u` escape that
 * could spell the key otherwise. OpenAI's `"usage": null` on every chunk of a stream is skipped.
 */
export function mayHoldUsageObject(data: Buffer): boolean {
  if (data.includes(ESCAPE)) return true
  for (let i = data.indexOf(USAGE); i !== -1; i = data.indexOf(USAGE, i + USAGE.length)) {
    let j = i + USAGE.length
    while (j < data.length && (data[j] === QUOTE || data[j] === COLON || isSpace(data[j] as number))) j++
    if (data[j] === OPEN_OBJECT) return true
  }
  return false
}

const QUOTE = 0x22
const OPEN_OBJECT = 0x7b
const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

/** nextLineEnd is the index of the next CR or LF in buf[from, end), or end. */
function nextLineEnd(buf: Buffer, from: number, end: number): number {
  const lf = buf.indexOf(LF, from)
  const cr = buf.indexOf(CR, from)
  const first = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr)
  return first === -1 || first > end ? end : first
}

/**
 * SseUsageReader reads usage out of a server-sent-events stream as it passes, event by event, as
 * the SSE format frames them (lines ending in LF, CRLF or CR; `data:` lines joined; a blank line
 * ends an event). The usage is found by structure with a JsonFieldReader, so an event of any size
 * is read in the memory of its usage object. A small event (up to 64 KiB of data, nearly all of
 * them) is read only when its bytes may hold a usage object (mayHoldUsageObject): the deltas of a
 * long stream then cost a native indexOf or two each instead of a pass of the reader. A larger
 * event streams through the reader as it arrives.
 *
 * The bytes go to the client unchanged and at once (`observe`), or, when the sidecar itself asked
 * for OpenAI's usage chunk, with that chunk cut out (`filter`): events are then held until they
 * end, except one that grows past 64 KiB, which cannot be that small chunk and is passed on as it
 * arrives.
 */
export class SseUsageReader {
  readonly #usage: UsageAccumulator
  readonly #json: JsonFieldReader
  readonly #strip: boolean
  /** Reading the field name of a line (`data`, `event`...) or its value, or skipping it. */
  #state: 'name' | 'data' | 'skip' = 'name'
  #name = ''
  #skipSpace = false
  #dataLines = 0
  #lastCR = false
  /** The data of the current event while it is small, and whether it passed SMALL_EVENT. */
  #data: Buffer[] = []
  #dataSize = 0
  #large = false
  /** Strip mode: bytes of the event in progress not yet forwarded, and whether it passes through. */
  #held: Buffer[] = []
  #heldSize = 0
  #passing = false

  /** @param strip cut out OpenAI's usage-only chunk (use `filter`); else use `observe`. */
  constructor(usage: UsageAccumulator, strip = false) {
    this.#usage = usage
    this.#strip = strip
    // `choices` tells the usage-only chunk (`choices: []`) apart; a large one is simply not it
    this.#json = new JsonFieldReader(strip ? STRIP_FIELDS : USAGE_FIELDS, 256 * 1024)
  }

  /** observe scans a chunk that is forwarded as is. */
  observe(chunk: Buffer): void {
    this.#scan(chunk, undefined)
  }

  /** filter scans a chunk and returns the bytes to forward now, without OpenAI's usage-only chunk. */
  filter(chunk: Buffer): Buffer | undefined {
    const out: Buffer[] = []
    this.#scan(chunk, out)
    if (out.length === 0) return undefined
    return out.length === 1 ? out[0] : Buffer.concat(out)
  }

  /** end finishes the stream: an event left without its blank line is still read, and returned in strip mode. */
  end(): Buffer | undefined {
    this.#endEvent(undefined, undefined, 0, 0)
    if (!this.#strip || this.#heldSize === 0) return undefined
    const rest = Buffer.concat(this.#held)
    this.#held = []
    this.#heldSize = 0
    return rest
  }

  #scan(buf: Buffer, out: Buffer[] | undefined): void {
    const end = buf.length
    let i = 0
    /** Start of the bytes of the current event within this chunk (strip mode). */
    let eventStart = 0
    while (i < end) {
      if (this.#lastCR) {
        this.#lastCR = false
        if (buf[i] === LF) {
          i++
          continue
        }
      }
      if (this.#state !== 'name') {
        let from = i
        const eol = nextLineEnd(buf, i, end)
        if (this.#state === 'data') {
          if (this.#skipSpace && from < eol) {
            this.#skipSpace = false
            if (buf[from] === SPACE) from++
          }
          if (from < eol) this.#dataBytes(buf.subarray(from, eol))
        }
        i = eol
        if (eol === end) break
      }
      const c = buf[i] as number
      if (c === LF || c === CR) {
        this.#lastCR = c === CR
        const blank = this.#state === 'name' && this.#name === ''
        if (this.#state === 'name' && this.#name === DATA) this.#dataLine() // `data` with no colon
        this.#state = 'name'
        this.#name = ''
        i++
        if (blank) {
          this.#endEvent(buf, out, eventStart, i)
          eventStart = i
        }
        continue
      }
      if (c === COLON) {
        if (this.#name === DATA) {
          this.#state = 'data'
          this.#skipSpace = true
          this.#dataLine()
        } else this.#state = 'skip'
        i++
        continue
      }
      // a field name is short; a long one is not one we read
      if (this.#name.length < 8) this.#name += String.fromCharCode(c)
      else this.#state = 'skip'
      i++
    }
    if (out && eventStart < end) this.#hold(buf.subarray(eventStart, end), out)
  }

  /** #dataLine starts a data line: the data of several lines is joined with newlines. */
  #dataLine(): void {
    if (this.#dataLines++ > 0) this.#dataBytes(NEWLINE)
  }

  /** #dataBytes takes bytes of the event's data: kept while the event is small, else read at once. */
  #dataBytes(bytes: Buffer): void {
    if (this.#large) {
      this.#json.write(bytes)
      return
    }
    this.#data.push(bytes)
    this.#dataSize += bytes.length
    if (this.#dataSize > SMALL_EVENT) {
      this.#large = true
      for (const piece of this.#data) this.#json.write(piece)
      this.#data = []
      this.#dataSize = 0
    }
  }

  /** #readEvent reads the data of the event that ended; a small one only when it can hold usage. */
  #readEvent(): boolean {
    if (!this.#large) {
      // joined: `usage` may be split between two chunks of the event
      const data = this.#data.length === 1 ? (this.#data[0] as Buffer) : Buffer.concat(this.#data)
      if (!mayHoldUsageObject(data)) return false
      this.#json.write(data)
    }
    this.#json.end()
    return true
  }

  #hold(bytes: Buffer, out: Buffer[]): void {
    if (this.#passing) {
      out.push(bytes)
      return
    }
    this.#held.push(bytes)
    this.#heldSize += bytes.length
    if (this.#heldSize > MAX_HELD_EVENT) {
      out.push(...this.#held)
      this.#held = []
      this.#heldSize = 0
      this.#passing = true
    }
  }

  /** #endEvent reads the event that ended at buf[to] and, in strip mode, forwards or drops its bytes. */
  #endEvent(buf: Buffer | undefined, out: Buffer[] | undefined, from: number, to: number): void {
    let drop = false
    if (this.#dataLines > 0 && this.#readEvent()) {
      const values = this.#json.values
      this.#usage.absorb(
        values,
        USAGE_PATHS.some((path) => this.#json.overflowed.has(path)),
      )
      drop = this.#strip && isUsageOnlyChunk(values)
      this.#json.reset()
    }
    this.#data = []
    this.#dataSize = 0
    this.#large = false
    this.#dataLines = 0
    this.#skipSpace = false
    if (!out || !buf) return
    const tail = buf.subarray(from, to)
    if (this.#passing) out.push(tail)
    else if (!drop) out.push(...this.#held, tail)
    this.#held = []
    this.#heldSize = 0
    this.#passing = false
  }
}

/** isUsageOnlyChunk is the extra chunk `stream_options.include_usage` adds: no choices, a usage object. */
function isUsageOnlyChunk(values: ReadonlyMap<string, unknown>): boolean {
  const choices = values.get('choices')
  const usage = values.get('usage')
  return Array.isArray(choices) && choices.length === 0 && usage !== null && typeof usage === 'object'
}
