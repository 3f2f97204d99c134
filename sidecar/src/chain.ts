import type { Logger } from 'pino'
import type { BodyBudget } from './body/body-budget.ts'
import type { ResponseCache } from './cache/response-cache.ts'
import type { ConfigSource } from './config/config-source.ts'
import type { DeferredCalls } from './deferred/deferred-calls.ts'
import type { FeedPublisher } from './feed/feed-publisher.ts'
import type { Limiter } from './limits/limiter.ts'
import type { BreakerRegistry } from './resilience/breaker-registry.ts'
import { compose, type Handler } from './stage.ts'
import { batchInputStage } from './stages/batch-input-stage.ts'
import { bodyStage } from './stages/body-stage.ts'
import { breakerStage } from './stages/breaker-stage.ts'
import { cacheLookupStage, cacheStage } from './stages/cache-stage.ts'
import { deferredStage } from './stages/deferred-stage.ts'
import { drainStage, type Lifecycle } from './stages/drain-stage.ts'
import { feedStage } from './stages/feed-stage.ts'
import { metricsStage } from './stages/metrics-stage.ts'
import { quotaStage } from './stages/quota-stage.ts'
import { replyStage } from './stages/reply-stage.ts'
import { requestIdStage } from './stages/request-id-stage.ts'
import { retryStage } from './stages/retry-stage.ts'
import { routeStage } from './stages/route-stage.ts'
import { tenantStage } from './stages/tenant-stage.ts'
import { tracingStage } from './stages/tracing-stage.ts'
import { usageStage } from './stages/usage-stage.ts'
import type { AccessLog } from './telemetry/access-log.ts'
import type { SidecarMetrics } from './telemetry/metrics.ts'
import type { Tracing } from './telemetry/tracing.ts'
import type { UpstreamPools } from './upstream/pools.ts'
import { upstreamHandler } from './upstream/upstream-handler.ts'
import type { UsageRecorder } from './usage/usage-recorder.ts'

/** Deps are what the chain needs from the process. */
export interface Deps {
  config: ConfigSource
  pools: UpstreamPools
  usage: UsageRecorder
  metrics: SidecarMetrics
  tracing: Tracing | undefined
  log: Logger
  /** Access log: one line per call. */
  access: AccessLog
  lifecycle: Lifecycle
  namespace: string
  /** The pod's workload (`deployment/app`), '' when unknown. */
  workload: string
  /** The live feed (Redis), or NO_FEED. */
  feed: FeedPublisher
  /** This process's instance id (the usage recorder's), named in its feed events. */
  instance: string
  /** Calls and provider errors so far, for the heartbeat. */
  counts: { calls: number; providerErrors: number }
  maxBodyBytes: number
  /** Bytes of request bodies the sidecar holds at once. */
  bodyBudget: BodyBudget
  /** Redis (FailoverLimiter) or memory (standalone) limits and budgets. */
  limiter: Limiter
  deferred: DeferredCalls
  cache: ResponseCache
  breakers: BreakerRegistry
}

/**
 * buildChain is the whole request path of the sidecar, outermost stage first. On the way in each
 * stage may answer by itself (by throwing a TollgateError); on the way back each finishes its work
 * once the inner stages are done. Retry wraps the breaker (not the other way round) so that every
 * attempt counts in the breaker and retries stop the moment it opens: a failing provider sees at
 * most `consecutiveFailures` calls, then `halfOpenProbes` per `openFor`.
 */
export const buildChain = (deps: Deps): Handler =>
  compose(
    [
      requestIdStage(), //                               assign or pass on x-request-id
      metricsStage(deps.metrics, deps.access), //       requests, latency, TTFT, tokens, cost; access log
      tracingStage(deps.tracing), //                    CLIENT span per call, GenAI attributes, traceparent
      replyStage(deps.log), //                          errors -> provider-shaped responses; held replies
      drainStage(deps.lifecycle), //                    503 once SIGTERM started the drain
      routeStage(deps.config), //                       /<provider>/...; normalised path; endpoint table: 400, 404, 403
      bodyStage(deps.maxBodyBytes, deps.bodyBudget), // read within bounds + parse body; 413, 503, 400; include_usage
      batchInputStage(deps.pools, deps.maxBodyBytes), // an OpenAI batch: its input file read and estimated
      tenantStage(), //                                 403 suspended; model 400 (missing, malformed), 403 (denied, unpriced)
      deferredStage(deps.deferred, deps.log, deps.metrics), // batches, background Responses: settled when their usage is read
      feedStage(deps.feed, deps.instance, deps.counts), // report the finished call to the live feed
      usageStage(deps.usage, deps.namespace, deps.workload), // price the tokens read from the response; record
      cacheLookupStage(deps.cache), //                  start the lookup: its Redis read rides with the reservation
      quotaStage(deps.limiter, deps.metrics), //        reserve the estimate; 429 names the limit; settle after
      cacheStage(deps.cache, deps.metrics), //          hit answers (streams too); miss records and stores
      retryStage({ metrics: deps.metrics }), //         429/5xx/connect per policy, only before the first byte
      breakerStage(deps.breakers), //                   open: 503 at once; every attempt's outcome counts
    ],
    upstreamHandler(deps.pools), //                     undici Pool per provider origin, streamed through
  )
