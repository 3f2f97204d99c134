import type { RuntimeConfig, RuntimeProvider } from '../config/runtime-config.ts'
import type { RequestContext } from '../context.ts'
import { TollgateError } from '../errors.ts'
import { estimateFor } from '../limits/call-estimate.ts'
import type { Limiter } from '../limits/limiter.ts'
import { rateLimitHeaders } from '../limits/rate-limit-headers.ts'
import type { Handler, Stage } from '../stage.ts'
import type { SidecarMetrics } from '../telemetry/metrics.ts'
import { costNano } from '../usage/usage.ts'

/**
 * quotaStage reserves the call's estimate (prompt estimate + most output, priced) against every
 * limit and budget that applies before anything is sent, answers 429 (503 when Redis is down and
 * the policy fails closed) naming the limit, and settles the reservation with the real usage once
 * the call is over: complete, failed, aborted mid-stream, or answered from the cache (no tokens,
 * no cost, but the request stays counted). Every call it reserves for gets the `x-ratelimit-*`
 * headers. Free calls (GET /models, files, count_tokens) and tenants with no limit and no budget
 * pass straight through. The estimate's money is its tokens and units at the full input rate
 * (no cache discount): an upper bound of the cost of what it estimates. Shadow limits that would have rejected a call are counted
 * in `tollgate_shadow_limit_exceeded_total`.
 */
export const quotaStage =
  (limiter: Limiter, metrics?: SidecarMetrics): Stage =>
  (next) =>
    function quotaStage(ctx) {
      const { config, provider, model } = ctx
      if (!config || !provider || ctx.endpoint?.kind !== 'model' || model === undefined) return next(ctx)
      if (config.compiled.limits.length === 0 && config.compiled.budgets.length === 0) return next(ctx)
      return reserveAndCall(limiter, metrics, next, ctx, config, provider, model)
    }

async function reserveAndCall(
  limiter: Limiter,
  metrics: SidecarMetrics | undefined,
  next: Handler,
  ctx: RequestContext,
  config: RuntimeConfig,
  provider: RuntimeProvider,
  model: string,
): Promise<void> {
  const estimate = estimateFor(ctx)
  const price = ctx.price
  const batch = ctx.endpoint?.batch
  const result = await limiter.reserve({
    tenant: config.compiled.tenant,
    provider: provider.name,
    model,
    estimatedTokens: estimate.tokens,
    estimatedCostNano: costNano(price, estimate.usage, batch),
    config: config.compiled,
  })
  ctx.addHeaders(rateLimitHeaders(result.rateLimit, result.at))
  if (!result.ok) {
    ctx.refusedBy = result.scope
    throw new TollgateError(result.code, result.message, {
      headers: { 'retry-after': String(result.retryAfterSeconds) },
    })
  }
  for (const shadow of result.shadowTripped) metrics?.shadowExceeded.labels(shadow.id).inc()
  ctx.spendCharged = { backend: result.backend, keys: result.charged.spend }
  try {
    await next(ctx)
  } finally {
    const u = ctx.usage
    // Not awaited: the call is over for the client and the outer stages (usage, metrics) go on
    // at once. The settle goes out now on the same connection as later reserves, so they see it.
    // One that cannot reach Redis leaves the estimate counted (the safe side) and the concurrency
    // slot to its lease.
    limiter
      .settle(result, { tokens: u.inputTokens + u.outputTokens, costNano: costNano(price, u, batch) })
      .catch(() => metrics?.settleErrors.inc())
  }
}
