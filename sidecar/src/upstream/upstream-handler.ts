import type { IncomingHttpHeaders } from 'node:http'
import type { Dispatcher } from 'undici'
import type { RequestContext } from '../context.ts'
import { TollgateError } from '../errors.ts'
import type { Handler } from '../stage.ts'
import { JsonUsageCollector } from '../usage/json-usage-collector.ts'
import { SseUsageScanner } from '../usage/sse-usage-scanner.ts'
import { UsageAccumulator } from '../usage/usage-accumulator.ts'
import { responseHeaders, upstreamHeaders } from './headers.ts'
import type { UpstreamPools } from './pools.ts'
import { failureOf, upstreamError } from './upstream-errors.ts'

/**
 * upstreamHandler sends the call to the provider through the undici Pool of its origin, with the
 * sidecar's key, and streams a successful response to the client chunk by chunk while reading its
 * usage. An error status (4xx/5xx) is held in memory as `ctx.reply` instead, so stages outside
 * (retry, breaker) can still act before the first byte reaches the client; the reply stage sends it.
 * Connect, first-byte and idle timeouts come from the compiled config.
 */
export const upstreamHandler = (pools: UpstreamPools): Handler =>
  function upstream(ctx: RequestContext): Promise<void> {
    const provider = ctx.provider
    const config = ctx.config
    if (!provider || !config) return Promise.reject(new Error('upstream runs after routeStage'))
    const key = config.credentials.get(provider.name)
    if (key === undefined && provider.type !== 'openai-compatible') {
      return Promise.reject(
        new TollgateError(
          'TOLLGATE_ERR_CREDENTIAL_MISSING',
          `the sidecar has no API key for provider ${provider.name}`,
        ),
      )
    }
    const timeouts = config.compiled.timeouts
    const pool = pools.get(provider.origin, timeouts.connectMs)
    const body = ctx.body
    return new Promise<void>((resolve, reject) => {
      pool.dispatch(
        {
          path: provider.basePath + ctx.path,
          method: (ctx.req.method ?? 'GET') as Dispatcher.HttpMethod,
          headers: upstreamHeaders(
            ctx.req.headers,
            provider,
            key,
            body?.length,
            ctx.requestId,
            ctx.traceHeaders,
          ),
          body: body ?? null,
          headersTimeout: timeouts.firstByteMs,
          bodyTimeout: timeouts.streamIdleMs,
        },
        new ProxyHandler(ctx, resolve, reject),
      )
    })
  }

const DELTA = Buffer.from('"delta"')

/** countDeltas counts content events in a chunk, the token estimate for a stream cut short. */
function countDeltas(chunk: Buffer): number {
  let n = 0
  let i = chunk.indexOf(DELTA)
  while (i !== -1) {
    n++
    i = chunk.indexOf(DELTA, i + DELTA.length)
  }
  return n
}

/** ProxyHandler is the undici dispatch handler of one call. */
class ProxyHandler implements Dispatcher.DispatchHandler {
  readonly #ctx: RequestContext
  readonly #resolve: () => void
  readonly #reject: (error: Error) => void
  readonly #usage: UsageAccumulator
  /** Error status: the body is held as ctx.reply. */
  #held: Buffer[] | undefined = undefined
  #heldStatus = 0
  #heldHeaders: IncomingHttpHeaders | undefined = undefined
  #sse: SseUsageScanner | undefined = undefined
  #json: JsonUsageCollector | undefined = undefined
  #strip = false
  #streaming = false
  #deltas = 0
  #settled = false

  constructor(ctx: RequestContext, resolve: () => void, reject: (error: Error) => void) {
    this.#ctx = ctx
    this.#resolve = resolve
    this.#reject = reject
    this.#usage = new UsageAccumulator(ctx.provider?.type === 'anthropic')
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    const ctx = this.#ctx
    if (ctx.aborted) controller.abort(new Error('client closed the connection'))
    else ctx.abortUpstream = (reason) => controller.abort(reason)
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    const ctx = this.#ctx
    ctx.headersAt = performance.now()
    if (statusCode >= 400) {
      this.#held = []
      this.#heldStatus = statusCode
      this.#heldHeaders = headers
      return
    }
    const type = headers['content-type']
    const contentType = typeof type === 'string' ? type : ''
    if (contentType.startsWith('text/event-stream')) {
      this.#sse = new SseUsageScanner(this.#usage)
      this.#streaming = true
      this.#strip = ctx.stripUsageChunk
    } else if (contentType.includes('json')) {
      this.#json = new JsonUsageCollector(this.#usage)
    }
    ctx.status = statusCode
    const out = responseHeaders(headers, this.#strip)
    ctx.res.writeHead(statusCode, ctx.extraHeaders ? Object.assign(out, ctx.extraHeaders) : out)
    ctx.tap?.head(statusCode, headers)
    if (this.#streaming) ctx.res.flushHeaders()
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#held) {
      this.#held.push(chunk)
      return
    }
    const ctx = this.#ctx
    if (ctx.firstChunkAt === 0) ctx.firstChunkAt = performance.now()
    let out: Buffer | undefined = chunk
    const sse = this.#sse
    if (sse) {
      this.#deltas += countDeltas(chunk)
      if (this.#strip) out = sse.filter(chunk)
      else sse.observe(chunk)
    } else this.#json?.push(chunk)
    if (out === undefined || out.length === 0) return
    ctx.tap?.chunk(out)
    if (!ctx.res.write(out)) {
      controller.pause()
      ctx.res.once('drain', () => controller.resume())
    }
  }

  onResponseEnd(): void {
    const ctx = this.#ctx
    if (this.#held) {
      const status = this.#heldStatus
      ctx.reply = {
        status,
        headers: responseHeaders(this.#heldHeaders ?? {}, false),
        body: Buffer.concat(this.#held),
      }
      if (status === 429) ctx.upstreamFailure = 'http_429'
      else if (status >= 500) ctx.upstreamFailure = 'http_5xx'
      this.#settle(true)
      this.#resolve()
      return
    }
    if (this.#strip) {
      const rest = this.#sse?.end()
      if (rest?.length) {
        ctx.tap?.chunk(rest)
        ctx.res.write(rest)
      }
    }
    this.#json?.end()
    this.#settle(true)
    ctx.res.end()
    this.#resolve()
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    const ctx = this.#ctx
    this.#settle(false)
    if (ctx.aborted) {
      this.#resolve()
      return
    }
    const failure = failureOf(error)
    ctx.upstreamFailure = failure
    const timeouts = ctx.config?.compiled.timeouts
    const timeoutMs =
      failure === 'connect_timeout'
        ? timeouts?.connectMs
        : failure === 'first_byte_timeout'
          ? timeouts?.firstByteMs
          : failure === 'idle_timeout'
            ? timeouts?.streamIdleMs
            : undefined
    this.#reject(
      upstreamError(failure, ctx.provider?.name ?? '?', ctx.provider?.origin ?? '?', error, timeoutMs),
    )
  }

  /**
   * settle hands the usage to the context. A stream cut short (client abort, upstream failure)
   * never got its final usage event; its tokens are then estimated: output as the number of
   * content deltas seen, input as a quarter of the request body's bytes (unless message_start
   * already gave the exact input).
   */
  #settle(complete: boolean): void {
    if (this.#settled) return
    this.#settled = true
    const ctx = this.#ctx
    ctx.abortUpstream = undefined
    const usage = this.#usage.result()
    if (!complete && this.#streaming) {
      usage.outputTokens = Math.max(usage.outputTokens, this.#deltas)
      if (usage.inputTokens === 0) usage.inputTokens = Math.ceil((ctx.body?.length ?? 0) / 4)
    }
    ctx.usage = usage
    ctx.responseModel = this.#usage.model
  }
}
