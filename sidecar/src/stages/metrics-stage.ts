import type { Stage } from '../stage.ts'
import type { AccessLog } from '../telemetry/access-log.ts'
import type { SidecarMetrics } from '../telemetry/metrics.ts'

/** Status recorded for a call whose client went away before the response head was sent. */
export const CLIENT_CLOSED = 499

/**
 * metricsStage records every call once it is over, whatever happened inside: requests by
 * provider, model and status, duration, time to first token of streams, tokens, cost, upstream
 * failures and sidecar rejections, and writes one access log line (never a body or a key).
 */
export const metricsStage =
  (metrics: SidecarMetrics, access: AccessLog): Stage =>
  (next) =>
    async function metricsStage(ctx) {
      metrics.inflightCalls++
      try {
        await next(ctx)
      } finally {
        metrics.inflightCalls--
        const ms = performance.now() - ctx.startedAt
        const provider = ctx.provider?.name ?? 'none'
        const series = metrics.series(provider, ctx.model ?? 'none')
        const status = ctx.status || (ctx.aborted ? CLIENT_CLOSED : 0)
        series.status(status).inc()
        const u = ctx.usage
        const ttftMs = ctx.stream && ctx.firstChunkAt ? ctx.firstChunkAt - ctx.startedAt : 0
        if (ctx.provider) {
          series.duration.observe(ms / 1000)
          if (ttftMs) series.ttft.observe(ttftMs / 1000)
          if (u.inputTokens) series.input.inc(u.inputTokens)
          if (u.outputTokens) series.output.inc(u.outputTokens)
          if (u.cachedInputTokens) series.cachedInput.inc(u.cachedInputTokens)
          if (u.reasoningTokens) series.reasoning.inc(u.reasoningTokens)
          if (ctx.costNano) series.cost.inc(ctx.costNano / 1e9)
          if (ctx.upstreamFailure) metrics.upstreamErrors.inc({ provider, reason: ctx.upstreamFailure })
          if (ctx.usageSource !== 'reported') metrics.usageEstimated.inc({ reason: ctx.usageSource })
        }
        if (ctx.error && !ctx.upstreamFailure) metrics.rejections.inc({ code: ctx.error.code })
        if (access.enabled) {
          access.write({
            requestId: ctx.requestId,
            method: ctx.req.method,
            provider,
            model: ctx.model,
            status,
            ms: Math.round(ms),
            ttftMs: ttftMs ? Math.round(ttftMs) : undefined,
            inputTokens: u.inputTokens,
            outputTokens: u.outputTokens,
            costNano: ctx.costNano,
            code: ctx.error?.code,
            aborted: ctx.aborted,
          })
        }
      }
    }
