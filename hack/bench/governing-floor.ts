// The benchmark's third reference: the least a proxy that governs calls must do, to tell what
// Tollgate's own design costs from what governing costs at all. reference-proxy.ts (undici Pool of
// a fixed 50, dispatch API, hop-by-hop headers removed), plus what no governing proxy can skip:
// it holds and parses the request body (model, stream; a stream is asked for its usage), puts its
// own key in place of the app's,
// holds the answer (a plain one) or its usage event (a stream) and parses it, counts tokens per
// model and status, and writes one JSON log line per call in batches. No routing table, no
// limits, no cache, no metrics server: Tollgate's plain path has to do all of this and more.
//   OPENAI_API_KEY=... node hack/bench/governing-floor.ts UPSTREAM_URL [PORT]
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Dispatcher, Pool } from 'undici'
import { withoutHopByHop } from './hop-by-hop.ts'

const [upstream, port = '0'] = process.argv.slice(2)
if (!upstream) {
  console.error('usage: node hack/bench/governing-floor.ts UPSTREAM_URL [PORT]')
  process.exit(2)
}
const authorization = `Bearer ${process.env.OPENAI_API_KEY ?? ''}`
const pool = new Pool(upstream, { connections: 50 })
const USAGE = Buffer.from('"usage":{')
const INCLUDE_USAGE = Buffer.from('"stream_options":{"include_usage":true},')

/** tokens by model and status, what a governing proxy must at least keep. */
const tokens = new Map<string, number>()
let lines = ''
const flush = () => {
  if (lines) process.stdout.write(lines)
  lines = ''
}
setInterval(flush, 100).unref()

interface Usage {
  usage?: { prompt_tokens?: number; completion_tokens?: number }
}

/** usageOf parses a plain answer, or the stream event that carries the usage; undefined if neither parses. */
function usageOf(held: Buffer[], stream: boolean): Usage['usage'] {
  const body = held.length === 1 ? (held[0] as Buffer) : Buffer.concat(held)
  try {
    if (!stream) return (JSON.parse(body.toString('utf8')) as Usage).usage
    const at = body.lastIndexOf(USAGE)
    if (at === -1) return undefined
    const start = body.lastIndexOf('data: ', at) + 6
    const end = body.indexOf('\n', at)
    return (JSON.parse(body.subarray(start, end === -1 ? body.length : end).toString('utf8')) as Usage).usage
  } catch {
    return undefined
  }
}

/** Relay writes the answer through as it comes and reads its usage once it ended. */
class Relay implements Dispatcher.DispatchHandler {
  readonly res: ServerResponse
  readonly model: string
  readonly started: number
  held: Buffer[] = []
  stream = false

  constructor(res: ServerResponse, model: string, started: number) {
    this.res = res
    this.model = model
    this.started = started
  }
  onRequestStart() {}
  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders) {
    this.stream = String(headers['content-type']).startsWith('text/event-stream')
    this.res.writeHead(status, withoutHopByHop(headers))
  }
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer) {
    // a stream keeps only its chunks from the one with the usage on (the last events)
    if (!this.stream) this.held.push(chunk)
    else if (chunk.includes(USAGE)) this.held = [chunk]
    else if (this.held.length > 0) this.held.push(chunk)
    if (!this.res.write(chunk)) {
      controller.pause()
      this.res.once('drain', () => controller.resume())
    }
  }
  onResponseEnd() {
    this.res.end()
    const status = this.res.statusCode
    const usage = status < 400 && this.held.length > 0 ? usageOf(this.held, this.stream) : undefined
    if (process.env.DEBUG) console.error(this.model, status, usage)
    const key = `${this.model}|${status}`
    tokens.set(key, (tokens.get(key) ?? 0) + (usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0))
    lines += `{"time":${Date.now()},"msg":"call","model":${JSON.stringify(this.model)},"status":${status},"ms":${Math.round(performance.now() - this.started)}}\n`
    if (lines.length > 8192) flush()
  }
  onResponseError(_c: Dispatcher.DispatchController, err: Error) {
    if (process.env.DEBUG) console.error(err)
    if (!this.res.headersSent) this.res.writeHead(502).end()
    else this.res.destroy()
  }
}

const server = createServer((req, res) => {
  const started = performance.now()
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => {
    let body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)
    let json: { model?: unknown; stream?: unknown; stream_options?: unknown }
    try {
      json = JSON.parse(body.toString('utf8'))
    } catch {
      res.writeHead(400).end()
      return
    }
    const model = String(json.model ?? '')
    // a stream reports its usage only when asked
    if (json.stream === true && json.stream_options === undefined) {
      const open = body.indexOf(0x7b) + 1
      body = Buffer.concat([body.subarray(0, open), INCLUDE_USAGE, body.subarray(open)])
    }
    const headers = withoutHopByHop(req.headers, 'content-length')
    headers.authorization = authorization
    headers['content-length'] = String(body.length)
    pool.dispatch(
      { path: req.url ?? '/', method: (req.method ?? 'POST') as Dispatcher.HttpMethod, headers, body },
      new Relay(res, model, started),
    )
  })
})
server.listen(Number(port), '127.0.0.1', () => {
  console.log(`governing floor listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`)
})
process.once('SIGTERM', () => process.exit(0))
