import type { Logger } from 'pino'
import type { Stage } from '../stage.ts'
import type { SidecarMetrics } from '../telemetry/metrics.ts'

/** Status recorded for a call whose client went away before the response head was sent. */
export const CLIENT_CLOSED = 499

/**
 * metricsStage records every call once it is over, whatever happened inside: requests by
 * provider, model and status, duration, time to first token of streams, tokens, cost, upstream
 * failures and sidecar rejections, and writes one access log line (never a body or a key).
 */
export const metricsStage =
  (metrics: SidecarMetrics, log: Logger): Stage =>
  (next) =>
    async function metricsStage(ctx) {
      metrics.inflight.inc()
      try {
        await next(ctx)
      } finally {
        metrics.inflight.dec()
        const seconds = (performance.now() - ctx.startedAt) / 1000
        const provider = ctx.provider?.name ?? 'none'
        const model = metrics.models.value(ctx.model ?? 'none')
        const status = ctx.status || (ctx.aborted ? CLIENT_CLOSED : 0)
        metrics.requests.inc({ provider, model, status })
        if (ctx.provider) {
          const labels = { provider, model }
          metrics.duration.observe(labels, seconds)
          if (ctx.stream && ctx.firstChunkAt)
            metrics.ttft.observe(labels, (ctx.firstChunkAt - ctx.startedAt) / 1000)
          const u = ctx.usage
          if (u.inputTokens) metrics.tokens.inc({ provider, model, type: 'input' }, u.inputTokens)
          if (u.outputTokens) metrics.tokens.inc({ provider, model, type: 'output' }, u.outputTokens)
          if (u.cachedInputTokens)
            metrics.tokens.inc({ provider, model, type: 'cached_input' }, u.cachedInputTokens)
          if (u.reasoningTokens) metrics.tokens.inc({ provider, model, type: 'reasoning' }, u.reasoningTokens)
          if (ctx.costNano) metrics.cost.inc(labels, ctx.costNano / 1e9)
          if (ctx.upstreamFailure) metrics.upstreamErrors.inc({ provider, reason: ctx.upstreamFailure })
        }
        if (ctx.error && !ctx.upstreamFailure) metrics.rejections.inc({ code: ctx.error.code })
        if (log.isLevelEnabled('info')) {
          log.info(
            {
              requestId: ctx.requestId,
              method: ctx.req.method,
              provider,
              model: ctx.model,
              status,
              ms: Math.round(seconds * 1000),
              ttftMs:
                ctx.stream && ctx.firstChunkAt ? Math.round(ctx.firstChunkAt - ctx.startedAt) : undefined,
              inputTokens: ctx.usage.inputTokens,
              outputTokens: ctx.usage.outputTokens,
              costNano: ctx.costNano,
              code: ctx.error?.code,
              aborted: ctx.aborted || undefined,
            },
            'call',
          )
        }
      }
    }
