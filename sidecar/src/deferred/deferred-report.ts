import { JsonBodyReader } from '../json/json-body-reader.ts'
import { JsonFieldReader, jsonPaths } from '../json/json-field-reader.ts'
import { emptyUsage, type Usage } from '../usage/usage.ts'
import { UsageAccumulator } from '../usage/usage-accumulator.ts'

/**
 * DeferredReport is the final usage of a deferred call (a governed batch or background
 * Response), found in a read of it: what the provider bills for the whole call.
 */
export interface DeferredReport {
  /** The batch or response id the read was about. */
  id: string
  usage: Usage
}

/** ReportReader reads a report from a response body as it streams past. */
export interface ReportReader {
  write(chunk: Buffer): void
  /** end is called once the body ended complete; undefined when it held no final usage. */
  end(): DeferredReport | undefined
}

/** Statuses after which a batch or Response bills nothing more. */
const FINAL_STATUSES = new Set(['completed', 'failed', 'cancelled', 'expired', 'incomplete'])

const FINAL_OBJECT_FIELDS = jsonPaths(['id', 'status', 'usage'])

/**
 * FinalObjectReader reads a retrieved OpenAI batch or Response: once its `status` is final, its
 * top-level `usage` (a batch's sums every request; a Response's is the call's) is the report.
 * Keys are found by structure (JsonBodyReader), so `usage` in `metadata` is not `usage`.
 */
export class FinalObjectReader implements ReportReader {
  readonly #json = new JsonBodyReader(FINAL_OBJECT_FIELDS)
  readonly #usage = new UsageAccumulator('openai')

  write(chunk: Buffer): void {
    this.#json.write(chunk)
  }

  end(): DeferredReport | undefined {
    this.#json.end()
    const values = this.#json.values
    const id = values.get('id')
    const status = values.get('status')
    if (typeof id !== 'string' || typeof status !== 'string' || !FINAL_STATUSES.has(status)) return undefined
    this.#usage.absorb(values)
    if (!this.#usage.seen || this.#json.overflowed.size > 0) return undefined
    return { id, usage: this.#usage.result() }
  }
}

const RESULT_FIELDS = jsonPaths(['result.type', 'result.message.usage'])
const LF = 0x0a
/** A results line is one message; a line this large is not one we can read (and fails the report). */
const MAX_LINE_BYTES = 8 << 20

/**
 * BatchResultsReader sums the usage of every succeeded request in the JSONL results of an
 * Anthropic message batch (errored, canceled and expired requests are not billed). The report
 * exists only if the whole body was read and every line understood: a partial read (the client
 * went away) leaves the batch at its estimate.
 */
export class BatchResultsReader implements ReportReader {
  readonly #id: string
  readonly #total = emptyUsage()
  readonly #line = new JsonFieldReader(RESULT_FIELDS)
  #lineBytes = 0
  #broken = false

  constructor(id: string) {
    this.#id = id
  }

  write(chunk: Buffer): void {
    if (this.#broken) return
    let from = 0
    for (let lf = chunk.indexOf(LF); lf !== -1; lf = chunk.indexOf(LF, from)) {
      this.#feed(chunk, from, lf)
      this.#endLine()
      from = lf + 1
    }
    this.#feed(chunk, from, chunk.length)
  }

  #feed(chunk: Buffer, start: number, end: number): void {
    if (end <= start || this.#broken) return
    this.#lineBytes += end - start
    if (this.#lineBytes > MAX_LINE_BYTES) this.#broken = true
    else this.#line.write(chunk, start, end)
  }

  #endLine(): void {
    if (this.#broken || this.#lineBytes === 0) return
    this.#line.end()
    const values = this.#line.values
    const type = values.get('result.type')
    if (type === undefined || this.#line.overflowed.size > 0) this.#broken = true
    else if (type === 'succeeded') {
      const usage = new UsageAccumulator('anthropic')
      usage.absorb(new Map([['usage', values.get('result.message.usage')]]))
      if (!usage.seen) this.#broken = true
      else add(this.#total, usage.result())
    }
    this.#line.reset()
    this.#lineBytes = 0
  }

  end(): DeferredReport | undefined {
    this.#endLine()
    return this.#broken ? undefined : { id: this.#id, usage: this.#total }
  }
}

/** add sums usage b into a (token counts and units; the image kind of a batch is not kept). */
function add(a: Usage, b: Usage): void {
  a.inputTokens += b.inputTokens
  a.outputTokens += b.outputTokens
  a.cachedInputTokens += b.cachedInputTokens
  a.reasoningTokens += b.reasoningTokens
  a.cacheWrite5mTokens += b.cacheWrite5mTokens
  a.cacheWrite1hTokens += b.cacheWrite1hTokens
  a.audioInputTokens += b.audioInputTokens
  a.audioOutputTokens += b.audioOutputTokens
  a.imageInputTokens += b.imageInputTokens
  a.imageOutputTokens += b.imageOutputTokens
  a.images += b.images
  a.seconds += b.seconds
  a.characters += b.characters
  a.webSearches += b.webSearches
  a.dataResidency ||= b.dataResidency
}
