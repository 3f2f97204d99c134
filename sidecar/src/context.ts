import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { Price } from '@tollgate/api'
import type { FormFields } from './body/form-fields.ts'
import type { CacheLookup, CacheRequest } from './cache/response-cache.ts'
import type { RuntimeConfig, RuntimeProvider } from './config/runtime-config.ts'
import type { DeferredReport } from './deferred/deferred-report.ts'
import type { Endpoint } from './endpoints/endpoint.ts'
import type { TollgateError } from './errors.ts'
import type { CallEstimate } from './limits/call-estimate.ts'
import { emptyUsage, type Usage } from './usage/usage.ts'
import type { UsageRecord } from './usage/usage-recorder.ts'

/** Reply is a complete response held in memory (an upstream error body, a cache hit) not yet sent. */
export interface Reply {
  status: number
  headers: Record<string, string | string[]>
  body: Buffer
}

/** ResponseTap sees a provider's successful response as it goes to the client (the cache records it). */
export interface ResponseTap {
  head(status: number, headers: IncomingHttpHeaders): void
  /** One chunk exactly as written to the client. */
  chunk(chunk: Buffer): void
}

/** PendingCacheLookup is a cache lookup in flight and the request it is for. */
export interface PendingCacheLookup {
  request: CacheRequest
  lookup: Promise<CacheLookup>
}

/** NetworkFailure names why the provider could not be reached or stopped answering. */
export type NetworkFailure = 'connect' | 'connect_timeout' | 'first_byte_timeout' | 'idle_timeout' | 'reset'

/** UpstreamFailure is a network failure or an error status from the provider. */
export type UpstreamFailure = NetworkFailure | 'http_429' | 'http_5xx'

/**
 * UsageSource says where `usage` came from: the provider's report, or the estimate because the
 * call was cut (aborted, reset), the answer reported none, or its usage was too large to read.
 */
export type UsageSource = 'reported' | 'aborted' | 'unreported' | 'unreadable'

/**
 * RequestContext is the state of one proxied call as it moves through the stages. It is a class
 * with every field set in the constructor so all contexts share one shape (one hidden class).
 */
export class RequestContext {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  /** performance.now() when the request arrived. */
  readonly startedAt: number
  requestId = ''
  config: RuntimeConfig | undefined = undefined
  provider: RuntimeProvider | undefined = undefined
  /** Normalised path and query below the provider prefix, e.g. `/v1/chat/completions?x=1`: decided on and sent. */
  path = ''
  endpoint: Endpoint | undefined = undefined
  body: Buffer | undefined = undefined
  json: Record<string, unknown> | undefined = undefined
  /** The text fields and file sizes of a multipart/form-data body (image edits, audio). */
  form: FormFields | undefined = undefined
  model: string | undefined = undefined
  /** The price the call is charged (the tenant's table, or the highest of its provider). */
  price: Price | undefined = undefined
  /** The one model the requests of an OpenAI batch's input file name (stages/batch-input-stage.ts). */
  batchModel: string | undefined = undefined
  /** The call's estimate, once computed (limits/call-estimate.ts estimateFor). */
  estimated: CallEstimate | undefined = undefined
  responseModel: string | undefined = undefined
  stream = false
  /** The client did not ask for `stream_options.include_usage`; the sidecar did and hides it. */
  stripUsageChunk = false
  /** W3C trace headers to send upstream instead of the app's (set when tracing is on). */
  traceHeaders: Record<string, string> | undefined = undefined
  usage: Usage = emptyUsage()
  usageSource: UsageSource = 'reported'
  costNano = 0
  /** What the usage stage recorded for the call. */
  usageRecord: UsageRecord | undefined = undefined
  /** The spend counters the call's estimate was charged to, and by which limiter backend. */
  spendCharged: { backend: 'redis' | 'memory'; keys: readonly string[] } | undefined = undefined
  /** The id the provider gave a deferred call (a governed batch or background Response) it accepted. */
  deferredId: string | undefined = undefined
  /** The final usage of a deferred call, read from a read of it (deferred/deferred-report.ts). */
  report: DeferredReport | undefined = undefined
  /** HTTP status sent to the client; 0 until the head is written. */
  status = 0
  /** The head sent is a server-sent-events stream's: a stream cut later ends with an error event. */
  eventStream = false
  /** performance.now() of the response head from the provider and of its first body chunk. */
  headersAt = 0
  firstChunkAt = 0
  reply: Reply | undefined = undefined
  error: TollgateError | undefined = undefined
  upstreamFailure: UpstreamFailure | undefined = undefined
  /** The client went away before the response was complete. */
  aborted = false
  /**
   * Headers stages add to whatever response goes out (rate limit state, cache status); they win
   * over the provider's own, and a TollgateError's headers win over them.
   */
  extraHeaders: Record<string, string> | undefined = undefined
  /** Set by the cache stage on a miss: the upstream handler shows it the response it streams. */
  tap: ResponseTap | undefined = undefined
  /** The call was answered from the response cache (usage counts it in `cacheHits`). */
  cacheHit = false
  /** On a cache hit: what the stored call cost, so what the hit saved (nano-USD). */
  savedNano = 0
  /** The end user the request names (OpenAI `user` / `safety_identifier`, Anthropic `metadata.user_id`). */
  endUser = ''
  /** The scope of the limit or budget that refused the call (quota stage), as its 429 names it. */
  refusedBy: string | undefined = undefined
  /** The cache lookup started before the reservation (its Redis read shares the round trip). */
  cacheLookup: PendingCacheLookup | undefined = undefined
  /** Set by the upstream handler while a provider call is in flight; aborts it. */
  abortUpstream: ((reason: Error) => void) | undefined = undefined

  constructor(req: IncomingMessage, res: ServerResponse, startedAt: number) {
    this.req = req
    this.res = res
    this.startedAt = startedAt
  }

  /** addHeaders merges headers into extraHeaders. */
  addHeaders(headers: Record<string, string>): void {
    this.extraHeaders = this.extraHeaders ? Object.assign(this.extraHeaders, headers) : { ...headers }
  }

  /** abort is called when the client closes the connection early. */
  abort(): void {
    if (this.aborted) return
    this.aborted = true
    this.abortUpstream?.(new Error('client closed the connection'))
  }
}
