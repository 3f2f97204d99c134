import type { UsageAccumulator } from './usage-accumulator.ts'

/** Bodies up to this size are kept whole; past it only the tail (usage comes last). */
const WHOLE_LIMIT = 1 << 20
const TAIL = 64 << 10
const MODEL = /"model"\s*:\s*"([^"\\]{1,256})"/

/**
 * JsonUsageCollector keeps a copy of a JSON response body as it passes to the client and reads
 * the usage out of it at the end. Providers put `usage` at the end of the body, so only the usage
 * object is parsed, and a large body (embeddings of many inputs) keeps only its last 64 KiB.
 */
export class JsonUsageCollector {
  readonly #usage: UsageAccumulator
  #chunks: Buffer[] = []
  #size = 0

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
    }
  }

  end(): void {
    const buf = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks)
    this.#chunks = []
    if (buf.length === 0) return
    this.#absorbTail(buf.toString('utf8'))
  }

  /**
   * absorbTail cuts the last `"usage": {...}` object out of the text and parses only that, with the
   * `model` found before it: cheaper than parsing the whole body, and the same for every size.
   */
  #absorbTail(text: string): void {
    let at = text.lastIndexOf('"usage"')
    // a `\"usage\"` inside a string value is text, not the field
    while (at > 0 && text.charCodeAt(at - 1) === 0x5c) at = text.lastIndexOf('"usage"', at - 1)
    if (at === -1) return
    const open = text.indexOf('{', at)
    if (open === -1) return
    const close = matchingBrace(text, open)
    if (close === -1) return
    // the top-level model comes before the content in chat, Responses and Anthropic bodies and
    // right before usage in embeddings, whose vectors can make the body huge
    const model = MODEL.exec(at < 65_536 ? text : text.slice(at - 4096, at))?.[1]
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
