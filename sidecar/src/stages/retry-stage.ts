import type { RequestContext } from '../context.ts'
import { RetryPolicy } from '../resilience/retry-policy.ts'
import type { Stage } from '../stage.ts'
import type { SidecarMetrics } from '../telemetry/metrics.ts'
import { emptyUsage } from '../usage/usage.ts'
import { attemptOutcome } from './attempt-outcome.ts'

export interface RetryStageOptions {
  random?: () => number
  metrics?: SidecarMetrics
}

/**
 * retryStage tries a failed call again per the policy (RetryPolicy: outcomes, attempts, jittered
 * backoff, Retry-After), and only while nothing has reached the client: the upstream handler holds
 * error responses as `ctx.reply` and throws network failures before the first byte, so a failed
 * attempt is still invisible here. Waiting ends early when the client goes away.
 */
export const retryStage =
  (options: RetryStageOptions = {}): Stage =>
  (next) =>
    async function retryStage(ctx) {
      const config = ctx.config
      if (!config || !ctx.endpoint) return next(ctx)
      let policy: RetryPolicy | undefined
      for (let retriesDone = 0; ; retriesDone++) {
        let failure: unknown
        let failed = false
        try {
          await next(ctx)
        } catch (error) {
          failed = true
          failure = error
        }
        const outcome = attemptOutcome(ctx)
        if (outcome === 'success' || outcome === 'aborted') {
          if (failed) throw failure
          return
        }
        policy ??= new RetryPolicy(config.compiled.retry, options.random ? { random: options.random } : {})
        const decision = policy.decide({
          retriesDone,
          outcome,
          headers: ctx.reply?.headers,
          responseStarted: ctx.res.headersSent,
        })
        if (!decision.retry) {
          if (failed) throw failure
          return
        }
        options.metrics?.retries.inc({ provider: ctx.provider?.name ?? 'none', reason: outcome })
        resetAttempt(ctx)
        await pause(ctx, decision.delayMs)
        if (ctx.aborted) return
      }
    }

/** resetAttempt forgets what the failed attempt left in the context. */
function resetAttempt(ctx: RequestContext): void {
  ctx.reply = undefined
  ctx.upstreamFailure = undefined
  ctx.usage = emptyUsage()
  ctx.headersAt = 0
  ctx.firstChunkAt = 0
}

/** pause waits, ending early when the client goes away (ctx.abort calls abortUpstream). */
function pause(ctx: RequestContext, ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      ctx.abortUpstream = undefined
      resolve()
    }
    const timer = setTimeout(done, ms)
    ctx.abortUpstream = done
  })
}
