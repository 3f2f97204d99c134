import type { IncomingHttpHeaders } from 'node:http'
import type { Dispatcher } from 'undici'
import type { RequestContext } from '../context.ts'
import { BatchResultsReader, FinalObjectReader, type ReportReader } from '../deferred/deferred-report.ts'
import { isDeferredSubmission, SUBMISSION_FIELDS } from '../deferred/deferred-submission.ts'
import { TollgateError } from '../errors.ts'
import { JsonBodyReader } from '../json/json-body-reader.ts'
import { estimateFor } from '../limits/call-estimate.ts'
import type { Handler } from '../stage.ts'
import { SseUsageReader } from '../usage/sse-usage-reader.ts'
import type { Usage } from '../usage/usage.ts'
import { USAGE_FIELDS, USAGE_PATHS, UsageAccumulator } from '../usage/usage-accumulator.ts'
import { responseHeaders, upstreamHeaders } from './headers.ts'
import type { UpstreamPools } from './pools.ts'
import { MAX_REWRITE_BYTES, rewriteResultsUrls } from './results-url.ts'
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

/** HeldAnswer is a successful answer held until it ended, and the headers it will go out with. */
interface HeldAnswer {
  chunks: Buffer[]
  size: number
  headers: Record<string, string | string[]>
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
  #sse: SseUsageReader | undefined = undefined
  #json: JsonBodyReader | undefined = undefined
  /** A message batch answer held to point its results_url at the sidecar; its headers. */
  #rewrite: HeldAnswer | undefined = undefined
  /** A read that may carry a deferred call's final usage (batch, background Response). */
  #report: ReportReader | undefined = undefined
  #strip = false
  #streaming = false
  #deltas = 0
  #settled = false
  /** The request went to the provider: from then on it may be billed. */
  #sent = false

  constructor(ctx: RequestContext, resolve: () => void, reject: (error: Error) => void) {
    this.#ctx = ctx
    this.#resolve = resolve
    this.#reject = reject
    this.#usage = new UsageAccumulator(ctx.endpoint?.usage ?? 'none')
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    const ctx = this.#ctx
    if (ctx.aborted) controller.abort(new Error('client closed the connection'))
    else {
      this.#sent = true
      ctx.abortUpstream = (reason) => controller.abort(reason)
    }
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
      this.#strip = ctx.stripUsageChunk
      this.#sse = new SseUsageReader(this.#usage, this.#strip)
      this.#streaming = true
    } else if (ctx.endpoint?.report) {
      this.#report = reportReader(ctx, contentType)
    } else if (contentType.includes('json') && ctx.endpoint?.kind === 'model') {
      // a free read (a finished batch, a stored Response) may carry usage: it bills nothing now
      this.#json = new JsonBodyReader(isDeferredSubmission(ctx) ? SUBMISSION_FIELDS : USAGE_FIELDS)
    }
    ctx.status = statusCode
    const out = responseHeaders(headers, this.#strip)
    if (ctx.endpoint?.resultsUrl && contentType.includes('json') && ctx.req.headers.host) {
      this.#rewrite = { chunks: [], size: 0, headers: out }
      return
    }
    ctx.res.writeHead(statusCode, ctx.extraHeaders ? Object.assign(out, ctx.extraHeaders) : out)
    ctx.tap?.head(statusCode, headers)
    if (this.#streaming) {
      ctx.eventStream = true
      ctx.res.flushHeaders()
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#held) {
      this.#held.push(chunk)
      return
    }
    const ctx = this.#ctx
    if (ctx.firstChunkAt === 0) ctx.firstChunkAt = performance.now()
    const rewrite = this.#rewrite
    if (rewrite) {
      rewrite.chunks.push(chunk)
      rewrite.size += chunk.length
      if (rewrite.size <= MAX_REWRITE_BYTES) return
      // too large to hold: on as it came
      this.#rewrite = undefined
      ctx.res.writeHead(
        ctx.status,
        ctx.extraHeaders ? Object.assign(rewrite.headers, ctx.extraHeaders) : rewrite.headers,
      )
      chunk = Buffer.concat(rewrite.chunks)
    }
    let out: Buffer | undefined = chunk
    const sse = this.#sse
    if (sse) {
      this.#deltas += countDeltas(chunk)
      if (this.#strip) out = sse.filter(chunk)
      else sse.observe(chunk)
    } else if (this.#json) this.#json.write(chunk)
    else this.#report?.write(chunk)
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
    const json = this.#json
    if (json) {
      for (const chunk of this.#rewrite?.chunks ?? []) json.write(chunk)
      json.end()
      this.#usage.absorb(
        json.values,
        USAGE_PATHS.some((path) => json.overflowed.has(path)),
      )
      const id = json.values.get('id')
      if (typeof id === 'string') ctx.deferredId = id
    }
    if (this.#report) ctx.report = this.#report.end()
    if (this.#rewrite) this.#sendRewritten(this.#rewrite)
    this.#settle(true)
    ctx.res.end()
    this.#resolve()
  }

  /** sendRewritten sends a held message batch answer with its results_url pointing at the sidecar. */
  #sendRewritten(held: HeldAnswer): void {
    const ctx = this.#ctx
    const provider = ctx.provider
    const raw = Buffer.concat(held.chunks)
    const body = provider
      ? rewriteResultsUrls(
          raw,
          provider.origin + provider.basePath,
          `http://${ctx.req.headers.host}/${provider.name}`,
        )
      : raw
    held.headers['content-length'] = String(body.length)
    ctx.res.writeHead(
      ctx.status,
      ctx.extraHeaders ? Object.assign(held.headers, ctx.extraHeaders) : held.headers,
    )
    ctx.tap?.chunk(body)
    ctx.res.write(body)
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    const ctx = this.#ctx
    // never connected: the provider saw nothing and bills nothing
    const failure = failureOf(error)
    if (failure === 'connect' || failure === 'connect_timeout') this.#sent = false
    this.#settle(false)
    if (ctx.aborted) {
      this.#resolve()
      return
    }
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
   * settle hands the usage to the context: the provider's report when the answer carried one and
   * ended. A model call that reached the provider but ended without a readable report (aborted,
   * cut, reset, an answer with no usage, a usage object too large to hold) is billed all the same,
   * so it is counted at its estimate: the input the provider already reported (Anthropic's
   * message_start) or the estimated prompt, and the most output the call allowed, which bounds
   * the reasoning nobody saw; never less output than the content deltas that went past. An error
   * status is not billed and counts what it reported (nothing).
   */
  #settle(complete: boolean): void {
    if (this.#settled) return
    this.#settled = true
    const ctx = this.#ctx
    ctx.abortUpstream = undefined
    ctx.responseModel = this.#usage.model
    const reported = this.#usage.result()
    const acc = this.#usage
    const billedWithoutReport =
      ctx.endpoint?.kind === 'model' &&
      !this.#held &&
      this.#sent &&
      (!complete || !acc.seen || acc.unreadable)
    if (!billedWithoutReport) {
      ctx.usage = reported
      return
    }
    ctx.usageSource = !complete ? 'aborted' : acc.unreadable ? 'unreadable' : 'unreported'
    ctx.usage = atLeastEstimate(reported, acc.seen, estimateFor(ctx).usage, this.#deltas)
  }
}

/**
 * reportReader reads the final usage of a deferred call from a read of it: a retrieved batch or
 * Response (JSON), or an Anthropic batch's results (JSONL; its id is the segment before `results`).
 */
function reportReader(ctx: RequestContext, contentType: string): ReportReader | undefined {
  if (ctx.endpoint?.report === 'final-object')
    return contentType.includes('json') ? new FinalObjectReader() : undefined
  const segments = (ctx.path.split('?')[0] ?? '').split('/')
  const id = segments[segments.length - 2]
  return id ? new BatchResultsReader(id) : undefined
}

/** atLeastEstimate is the usage of a call billed without a full report (see #settle). */
function atLeastEstimate(reported: Usage, seen: boolean, estimate: Usage, deltas: number): Usage {
  const usage = seen && reported.inputTokens > 0 ? { ...estimate, ...inputOf(reported) } : { ...estimate }
  usage.outputTokens = Math.max(estimate.outputTokens, reported.outputTokens, deltas)
  return usage
}

const inputOf = (u: Usage) => ({
  inputTokens: u.inputTokens,
  cachedInputTokens: u.cachedInputTokens,
  cacheWrite5mTokens: u.cacheWrite5mTokens,
  cacheWrite1hTokens: u.cacheWrite1hTokens,
  audioInputTokens: u.audioInputTokens,
  imageInputTokens: u.imageInputTokens,
})
