// The fake LLM provider: one node:http server speaking the OpenAI and Anthropic HTTP APIs, with
// per-request behaviour (delay, failure, stall, cut, usage) for tests, the demo and benchmarks.
import { EventEmitter } from 'node:events'
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout } from 'node:timers/promises'
import { type Behaviour, checkBehaviour, FailureCounter, readBehaviour } from './behaviour.ts'
import { ProviderError, providerRequestId, sendError } from './errors.ts'
import { type Exchange, type Provider, untilAborted } from './exchange.ts'
import { findRoute, providerOf, type Route } from './routes.ts'
import { type KeyUsage, UsageTally } from './usage-tally.ts'

export { BEHAVIOUR_HEADERS, type Behaviour, InvalidBehaviourError } from './behaviour.ts'
export { type KeyUsage, keyHash, MAX_KEYS } from './usage-tally.ts'
export { completionText, DEFAULT_OUTPUT_WORDS, estimateTokens } from './words.ts'

/** USAGE_PATH serves the usage tally: `GET /_fake/usage` → `{ keys: KeyUsage[] }`. */
export const USAGE_PATH = '/_fake/usage'

/**
 * HEADERS_PATH serves the request headers of the last RECENT_HEADERS calls, newest last, without
 * the headers that carry keys: `GET /_fake/headers` → `{ requests: [{ path, headers }] }`. It is how
 * a test on a real node sees what a sidecar forwarded, with recording off.
 */
export const HEADERS_PATH = '/_fake/headers'
const RECENT_HEADERS = 32
const KEY_HEADERS = new Set(['authorization', 'x-api-key', 'api-key'])

/** FakeProviderOptions configure startFakeProvider. */
export interface FakeProviderOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number
  /** Address to listen on; default 127.0.0.1. */
  host?: string
  /** When set, requests without exactly this key (`Authorization: Bearer` / `x-api-key`) get 401. */
  apiKey?: string
  /** Keep every request in `requests` (default true). Benchmarks turn it off to keep memory flat. */
  record?: boolean
}

/** RecordedRequest is one request as the fake received it. */
export interface RecordedRequest {
  /** id is also sent back in the `x-fake-request-id` response header. */
  id: string
  method: string
  /** path is the URL path without the query; url is both as received. */
  path: string
  url: string
  /** headers as Node parsed them (lower-case names), auth headers included. */
  headers: IncomingHttpHeaders
  /** body is the parsed JSON body; undefined when empty or not JSON. */
  body: unknown
  /** status is the status code sent, undefined until the response headers went out. */
  readonly status: number | undefined
  /** aborted is true when the client went away before the response finished. */
  aborted: boolean
  /** ended is true once the exchange is over: finished, aborted, or cut by the fake. */
  ended: boolean
}

/** FakeProviderEvents are the events FakeProvider emits, each with the request concerned. */
export type FakeProviderEvents = {
  /** A request arrived and its body was read. */
  request: [RecordedRequest]
  /** The client went away before the response finished. */
  abort: [RecordedRequest]
  /** The exchange is over, whatever the reason (after `abort` when aborted). */
  end: [RecordedRequest]
}

const OPENAI_UNAUTHORIZED =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."

const MALFORMED: Record<Provider, string> = {
  openai:
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
  anthropic: 'There was an issue with your request body: it is not a valid JSON object.',
}

const parseJson = (raw: Buffer): unknown => {
  try {
    return raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8'))
  } catch {
    return undefined
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value)

const readBody = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
    // 'close' before the body is complete means the client went away mid-body.
    req.on('close', () => {
      if (!req.complete) reject(new Error('request body incomplete'))
    })
  })

/**
 * FakeProvider is a running fake; create it with startFakeProvider. It records requests, emits
 * FakeProviderEvents, and takes default behaviour for every request from `behave()`.
 */
export class FakeProvider extends EventEmitter<FakeProviderEvents> {
  /** requests holds every request received since start or the last reset(), oldest first. */
  readonly requests: RecordedRequest[] = []
  readonly #recentHeaders: { path: string; headers: Record<string, unknown> }[] = []
  #server: Server
  #host: string
  #port = 0
  #apiKey: string | undefined
  #record: boolean
  #defaults: Behaviour = {}
  #failures = new FailureCounter()
  #usage = new UsageTally()
  #lastId = 0
  readonly #files = new Map<string, Buffer>()
  readonly #jobs = new Map<string, Record<string, unknown>>()

  /** Use startFakeProvider; a FakeProvider built here does not listen yet. */
  constructor(options: FakeProviderOptions = {}) {
    super()
    this.#host = options.host ?? '127.0.0.1'
    this.#apiKey = options.apiKey
    this.#record = options.record ?? true
    this.#server = createServer((req, res) => void this.#serve(req, res))
  }

  /** start creates a fake and waits until it listens. */
  static async start(options: FakeProviderOptions = {}): Promise<FakeProvider> {
    const fake = new FakeProvider(options)
    await fake.#listen(options.port ?? 0)
    return fake
  }

  /** port is the port the fake listens on. */
  get port(): number {
    return this.#port
  }

  /** url is the base URL without `/v1`, e.g. `http://127.0.0.1:38021`. */
  get url(): string {
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host
    return `http://${host}:${this.#port}`
  }

  /** behave sets the behaviour of every later request (headers still override it field by field); `{}` clears it. */
  behave(behaviour: Behaviour): void {
    this.#defaults = checkBehaviour(behaviour)
  }

  /** reset forgets recorded requests, default behaviour, fail-times counters and the usage tally. Ids keep counting. */
  reset(): void {
    this.requests.length = 0
    this.#defaults = {}
    this.#failures.reset()
    this.#usage.reset()
  }

  /**
   * usage is the tally per API key (as `GET /_fake/usage` serves it): calls received and the
   * tokens the answers reported, a stream's once its final usage event went out. Kept also when
   * requests are not recorded.
   */
  usage(): KeyUsage[] {
    return this.#usage.snapshot()
  }

  /** waitForRequest resolves with the first recorded or later request that matches. */
  waitForRequest(matches: (request: RecordedRequest) => boolean = () => true): Promise<RecordedRequest> {
    const found = this.requests.find(matches)
    if (found) return Promise.resolve(found)
    return new Promise((resolve) => {
      const onRequest = (request: RecordedRequest) => {
        if (!matches(request)) return
        this.off('request', onRequest)
        resolve(request)
      }
      this.on('request', onRequest)
    })
  }

  /** waitForAbort resolves when request `id` is aborted by its client; rejects if it ends otherwise. */
  waitForAbort(id: string): Promise<RecordedRequest> {
    return new Promise((resolve, reject) => {
      const known = this.requests.find((request) => request.id === id)
      if (known?.aborted) return resolve(known)
      if (known?.ended) return reject(new Error(`fake provider: request ${id} ended without an abort`))
      const onEnd = (request: RecordedRequest) => {
        if (request.id !== id) return
        this.off('end', onEnd)
        if (request.aborted) resolve(request)
        else reject(new Error(`fake provider: request ${id} ended without an abort`))
      }
      this.on('end', onEnd)
    })
  }

  /** close stops listening and destroys open connections, stalled streams included. */
  async close(): Promise<void> {
    if (!this.#server.listening) return
    const closed = new Promise<void>((resolve, reject) =>
      this.#server.close((err) => (err ? reject(err) : resolve())),
    )
    this.#server.closeAllConnections()
    await closed
  }

  #listen(port: number) {
    return new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(port, this.#host, () => {
        this.#server.off('error', reject)
        this.#port = (this.#server.address() as AddressInfo).port
        resolve()
      })
    })
  }

  async #serve(req: IncomingMessage, res: ServerResponse) {
    const url = req.url ?? '/'
    const query = url.indexOf('?')
    const path = query === -1 ? url : url.slice(0, query)
    const method = req.method ?? 'GET'
    // The tally itself is neither a call nor a recorded request.
    if (method === 'GET' && path === USAGE_PATH) {
      const json = JSON.stringify({ keys: this.#usage.snapshot() })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) })
      return void res.end(json)
    }
    if (method === 'GET' && path === HEADERS_PATH) {
      const json = JSON.stringify({ requests: this.#recentHeaders })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) })
      return void res.end(json)
    }
    this.#recentHeaders.push({
      path,
      headers: Object.fromEntries(Object.entries(req.headers).filter(([name]) => !KEY_HEADERS.has(name))),
    })
    if (this.#recentHeaders.length > RECENT_HEADERS) this.#recentHeaders.shift()
    const id = String(++this.#lastId)
    const record: RecordedRequest = {
      id,
      method,
      path,
      url,
      headers: req.headers,
      body: undefined,
      get status() {
        return res.headersSent ? res.statusCode : undefined
      },
      aborted: false,
      ended: false,
    }
    const controller = new AbortController()
    let cut = false
    res.setHeader('x-fake-request-id', id)
    res.on('close', () => {
      record.ended = true
      record.aborted = !res.writableFinished && !cut
      // Only an unfinished exchange can have a handler waiting on the signal.
      if (!res.writableFinished) controller.abort()
      if (record.aborted) this.emit('abort', record)
      this.emit('end', record)
    })

    let raw: Buffer
    try {
      raw = await readBody(req)
    } catch {
      return // the client went away while sending; the close handler records it
    }
    const tally = this.#usage.call(apiKeyOf(req.headers))
    const route = findRoute(method, path, req.headers)
    const provider = route?.provider ?? providerOf(path, req.headers)
    res.setHeader(provider === 'anthropic' ? 'request-id' : 'x-request-id', providerRequestId(id))
    const parsed = parseJson(raw)
    record.body = parsed
    if (this.#record) this.requests.push(record)
    this.emit('request', record)

    let behaviour: Behaviour = {}
    let invalid: unknown
    try {
      behaviour = readBehaviour(req.headers, this.#defaults)
    } catch (err) {
      invalid = err
    }
    const ex: Exchange = {
      id,
      provider,
      req,
      res,
      body: isObject(parsed) ? parsed : {},
      raw,
      files: this.#files,
      jobs: this.#jobs,
      behaviour,
      signal: controller.signal,
      cut: () => {
        cut = true
        res.destroy()
        controller.abort()
      },
      reportUsage: (input, output, cached = 0, named) => {
        const model = named ?? (isObject(parsed) && typeof parsed.model === 'string' ? parsed.model : '')
        this.#usage.report(tally, provider, model, { input, cached, output })
      },
    }
    try {
      if (invalid) throw new ProviderError(400, (invalid as Error).message)
      if (behaviour.delayMs) await setTimeout(behaviour.delayMs, undefined, { signal: controller.signal })
      await this.#answer(ex, route, isObject(parsed))
    } catch (err) {
      if (controller.signal.aborted) return
      if (res.headersSent) res.destroy()
      else if (err instanceof ProviderError) sendError(ex, err.status, err.message, err.details)
      else sendError(ex, 500, `fake provider failed: ${(err as Error).message}`)
    }
  }

  /** #answer checks the request in the order the real APIs do, applies the behaviour, then answers. */
  async #answer(ex: Exchange, route: Route | undefined, hasObjectBody: boolean) {
    const { req, behaviour } = ex
    if (!route) {
      const message = ex.provider === 'openai' ? `Invalid URL (${req.method} ${req.url})` : 'Not Found'
      throw new ProviderError(404, message)
    }
    this.#authorize(ex)
    if (ex.provider === 'anthropic' && req.headers['anthropic-version'] === undefined) {
      throw new ProviderError(400, 'anthropic-version: header is required')
    }
    if (route.post === true && !hasObjectBody) throw new ProviderError(400, MALFORMED[ex.provider])
    if (behaviour.fail !== undefined && this.#failures.shouldFail(behaviour)) {
      const headers: Record<string, string> =
        behaviour.retryAfter === undefined ? {} : { 'retry-after': String(behaviour.retryAfter) }
      throw new ProviderError(behaviour.fail, `fake provider: injected ${behaviour.fail} (x-fake-fail)`, {
        headers,
      })
    }
    if (ex.body.stream !== true) {
      // Non-streamed answers have no chunks to count: a stall never answers, a cut answers nothing.
      if (behaviour.cutAfter !== undefined) return ex.cut()
      if (behaviour.stallAfter !== undefined) return untilAborted(ex.signal)
    }
    await route.handle(ex)
  }

  /**
   * #authorize checks the key. OpenAI takes `Authorization: Bearer`; Anthropic takes `x-api-key` or,
   * as @anthropic-ai/sdk 1.x sends an apiKey, `Authorization: Bearer`.
   */
  #authorize(ex: Exchange) {
    const key = this.#apiKey
    if (key === undefined) return
    const { authorization } = ex.req.headers
    const bearer = bearerOf(ex.req.headers)
    if (ex.provider === 'anthropic') {
      const given = ex.req.headers['x-api-key'] ?? bearer
      if (given !== key)
        throw new ProviderError(401, given ? 'invalid x-api-key' : 'x-api-key header is required')
      return
    }
    if (bearer !== key)
      throw new ProviderError(401, authorization ? 'Incorrect API key provided.' : OPENAI_UNAUTHORIZED)
  }
}

const bearerOf = (headers: IncomingHttpHeaders) =>
  headers.authorization?.startsWith('Bearer ') ? headers.authorization.slice('Bearer '.length) : undefined

/** apiKeyOf is the key a request carries, in either API's header. */
const apiKeyOf = (headers: IncomingHttpHeaders): string | undefined => {
  const apiKey = headers['x-api-key']
  return (typeof apiKey === 'string' ? apiKey : undefined) ?? bearerOf(headers)
}

/** startFakeProvider starts a fake provider on 127.0.0.1 and a free port unless told otherwise. */
export const startFakeProvider = (options: FakeProviderOptions = {}): Promise<FakeProvider> =>
  FakeProvider.start(options)
