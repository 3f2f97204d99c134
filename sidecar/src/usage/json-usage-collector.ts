import type { UsageAccumulator } from './usage-accumulator.ts'

/** Bodies up to this size are parsed whole; past it only the tail is kept (usage comes last). */
const WHOLE_LIMIT = 1 << 20
const TAIL = 64 << 10

/**
 * JsonUsageCollector keeps a copy of a JSON response body as it passes to the client and reads
 * the usage out of it at the end. Providers put `usage` (and `model`) at the end of the body, so a
 * large body (embeddings of many inputs) keeps only its last 64 KiB and the usage object is cut out
 * of that tail instead of parsing megabytes of vectors.
 */
export class JsonUsageCollector {
  readonly #usage: UsageAccumulator
  #chunks: Buffer[] = []
  #size = 0
  #truncated = false

  constructor(usage: UsageAccumulator) {
    this.#usage = usage
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk)
    this.#size += chunk.length
    if (this.#size > WHOLE_LIMIT + TAIL) {
      const all = Buffer.concat(this.#chunks)
      this.#chunks = [all.subarray(all.length - TAIL)]
      this.#size = TAIL
      this.#truncated = true
    }
  }

  end(): void {
    const buf = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks)
    this.#chunks = []
    if (buf.length === 0) return
    const text = buf.toString('utf8')
    if (!this.#truncated && buf.length <= WHOLE_LIMIT) {
      try {
        this.#usage.absorb(JSON.parse(text))
        return
      } catch {
        // not JSON after all: fall through to the tail scan, which finds nothing harmful
      }
    }
    this.#absorbTail(text)
  }

  #absorbTail(text: string): void {
    const at = text.lastIndexOf('"usage"')
    if (at === -1) return
    const open = text.indexOf('{', at)
    if (open === -1) return
    const close = matchingBrace(text, open)
    if (close === -1) return
    const model = /"model"\s*:\s*"([^"\\]{1,256})"/.exec(text.slice(Math.max(0, at - 4096)))?.[1]
    try {
      this.#usage.absorb({ usage: JSON.parse(text.slice(open, close + 1)), model })
    } catch {
      // a malformed tail carries no usage we can trust
    }
  }
}

/** matchingBrace returns the index of the `}` closing the `{` at open, skipping strings. */
function matchingBrace(text: string, open: number): number {
  let depth = 0
  let inString = false
  for (let i = open; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x7b) depth++
    else if (c === 0x7d && --depth === 0) return i
  }
  return -1
}
