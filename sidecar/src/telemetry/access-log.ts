import { type DestinationStream, pino } from 'pino'
import { isoTime } from './logger.ts'

/** AccessFields are the fields of one access log line: ids, names and numbers, never a body or a key. */
export interface AccessFields {
  requestId: string
  method: string | undefined
  provider: string
  model: string | undefined
  status: number
  ms: number
  ttftMs: number | undefined
  inputTokens: number
  outputTokens: number
  costNano: number
  code: string | undefined
  aborted: boolean
}

const INFO = pino.levels.values.info as number
/** Lines are handed to the destination in batches of about this many bytes, or after FLUSH_MS. */
const BATCH_BYTES = 8 * 1024
const FLUSH_MS = 100

/** str is a JSON string member, or nothing for undefined (as pino leaves such a field out). */
const str = (name: string, value: string | undefined) =>
  value === undefined ? '' : `,"${name}":${JSON.stringify(value)}`
/** num is a JSON number member; what JSON cannot hold (NaN) is null, as JSON.stringify writes it. */
const num = (name: string, value: number | undefined) =>
  value === undefined ? '' : `,"${name}":${Number.isFinite(value) ? value : null}`

/**
 * AccessLog writes one line per call to the log's destination, in the format of the sidecar's pino
 * lines (`level`, `time`, `pid`, `name`, the fields, `msg`). The fields are fixed, so the line is
 * written from them directly: pino's generic serialisation of the same object cost twice as much
 * per call (issue 14's profile), and the access log needs none of its redaction or child bindings.
 * Strings go through JSON.stringify, so a model name a client chose cannot break the line.
 *
 * Lines reach the destination in batches (8 KiB, or what 100 ms gathered). The destination
 * (sonic-boom, asynchronous so that a slow stdout never holds up a call) measures the string it
 * appends to on every write, so one line at a time cost it more than writing the line out.
 */
export class AccessLog {
  readonly #destination: DestinationStream
  readonly #head: string
  /** Whether the level lets info lines through. */
  readonly enabled: boolean
  #pending: string[] = []
  #size = 0
  #timer: NodeJS.Timeout | undefined = undefined

  constructor(destination: DestinationStream, opts: { level: string; name: string }) {
    this.#destination = destination
    this.enabled = (pino.levels.values[opts.level] ?? INFO) <= INFO
    this.#head = `,"pid":${process.pid},"name":${JSON.stringify(opts.name)}`
  }

  write(f: AccessFields): void {
    const line = `{"level":${INFO}${isoTime()}${this.#head}${str('requestId', f.requestId)}${str('method', f.method)}${str('provider', f.provider)}${str('model', f.model)}${num('status', f.status)}${num('ms', f.ms)}${num('ttftMs', f.ttftMs)}${num('inputTokens', f.inputTokens)}${num('outputTokens', f.outputTokens)}${num('costNano', f.costNano)}${str('code', f.code)}${f.aborted ? ',"aborted":true' : ''},"msg":"call"}\n`
    this.#pending.push(line)
    this.#size += line.length
    if (this.#size >= BATCH_BYTES) this.flush()
    else this.#timer ??= setTimeout(() => this.flush(), FLUSH_MS).unref()
  }

  /** flush hands the lines gathered so far to the destination. */
  flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#pending.length === 0) return
    const lines = this.#pending.join('')
    this.#pending = []
    this.#size = 0
    this.#destination.write(lines)
  }
}
