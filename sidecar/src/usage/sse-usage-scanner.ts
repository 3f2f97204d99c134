import type { UsageAccumulator } from './usage-accumulator.ts'

const USAGE = Buffer.from('"usage"')
const LF2 = Buffer.from('\n\n')
const CRLF2 = Buffer.from('\r\n\r\n')
const EVENT_SPLIT = /\r\n\r\n|\n\n|\r\r/
/** A partial event longer than this is not usage we can read; it is dropped from the scan. */
const MAX_CARRY = 1 << 20

/** endOfLastEvent is the offset just past the last blank line (event boundary), or -1. */
function endOfLastEvent(buf: Buffer): number {
  const lf = buf.lastIndexOf(LF2)
  const crlf = buf.lastIndexOf(CRLF2)
  return Math.max(lf === -1 ? -1 : lf + 2, crlf === -1 ? -1 : crlf + 4)
}

/** hasUsageObject finds `"usage": {` without decoding: `"usage":null` chunks are skipped cheaply. */
export function hasUsageObject(buf: Buffer): boolean {
  let i = buf.indexOf(USAGE)
  while (i !== -1) {
    let j = i + USAGE.length
    while (j < buf.length && (buf[j] === 0x20 || buf[j] === 0x3a || buf[j] === 0x09)) j++
    if (buf[j] === 0x7b) return true
    i = buf.indexOf(USAGE, j)
  }
  return false
}

function dataOf(event: string): string {
  let data = ''
  for (const line of event.split(/\r?\n/)) {
    if (!line.startsWith('data:')) continue
    const value = line.charCodeAt(5) === 0x20 ? line.slice(6) : line.slice(5)
    data = data ? `${data}\n${value}` : value
  }
  return data
}

/**
 * SseUsageScanner reads usage out of a server-sent-events stream as it passes. The bytes go to the
 * client unchanged and at once (`observe`), or, when the sidecar itself asked for OpenAI's usage
 * chunk, with that chunk cut out (`filter`, which forwards whole events only). Only events whose
 * bytes contain a `"usage": {` object are decoded and parsed, so a long stream of deltas costs one
 * native `indexOf` per chunk.
 */
export class SseUsageScanner {
  readonly #usage: UsageAccumulator
  #carry: Buffer | undefined = undefined

  constructor(usage: UsageAccumulator) {
    this.#usage = usage
  }

  /** observe scans a chunk that is forwarded as is. */
  observe(chunk: Buffer): void {
    const data = this.#carry ? Buffer.concat([this.#carry, chunk]) : chunk
    const end = endOfLastEvent(data)
    if (end === -1) {
      this.#carry = data.length > MAX_CARRY ? undefined : data
      return
    }
    const complete = end === data.length ? data : data.subarray(0, end)
    if (hasUsageObject(complete)) this.#scan(complete, false)
    this.#carry = end === data.length ? undefined : data.subarray(end)
  }

  /** filter scans a chunk and returns the whole events to forward, without OpenAI's usage-only chunk. */
  filter(chunk: Buffer): Buffer | undefined {
    const data = this.#carry ? Buffer.concat([this.#carry, chunk]) : chunk
    const end = endOfLastEvent(data)
    if (end === -1) {
      this.#carry = data
      return undefined
    }
    const complete = end === data.length ? data : data.subarray(0, end)
    this.#carry = end === data.length ? undefined : data.subarray(end)
    return hasUsageObject(complete) ? this.#scan(complete, true) : complete
  }

  /** end scans what is left after the last boundary and returns it (for `filter` mode). */
  end(): Buffer | undefined {
    const rest = this.#carry
    this.#carry = undefined
    if (!rest?.length) return undefined
    return hasUsageObject(rest) ? this.#scan(rest, true) : rest
  }

  #scan(buf: Buffer, strip: boolean): Buffer {
    const events = buf.toString('utf8').split(EVENT_SPLIT)
    let kept = ''
    let dropped = false
    for (const event of events) {
      if (!event) continue
      const data = dataOf(event)
      if (data.includes('"usage"') && data !== '[DONE]') {
        let parsed: unknown
        try {
          parsed = JSON.parse(data)
        } catch {
          parsed = undefined
        }
        this.#usage.absorb(parsed)
        if (strip && isUsageOnlyChunk(parsed)) {
          dropped = true
          continue
        }
      }
      kept += `${event}\n\n`
    }
    return dropped ? Buffer.from(kept) : buf
  }
}

/** isUsageOnlyChunk is the extra chunk `stream_options.include_usage` adds: no choices, a usage object. */
function isUsageOnlyChunk(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false
  const chunk = value as { choices?: unknown; usage?: unknown }
  return Array.isArray(chunk.choices) && chunk.choices.length === 0 && !!chunk.usage
}
