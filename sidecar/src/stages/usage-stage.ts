import type { UsageCounter } from '@tollgate/api/redis-keys.ts'
import type { Stage } from '../stage.ts'
import { requestEndUser } from '../usage/end-user.ts'
import { costNano, type Usage } from '../usage/usage.ts'
import type { UsageRecord, UsageRecorder } from '../usage/usage-recorder.ts'

/** usageCounters are the counters of what a call used and cost (not its request, hit or error counts). */
export const usageCounters = (u: Usage, cost: number): Partial<Record<UsageCounter, number>> => ({
  inputTokens: u.inputTokens,
  outputTokens: u.outputTokens,
  cachedInputTokens: u.cachedInputTokens,
  reasoningTokens: u.reasoningTokens,
  costNano: cost,
  cacheWrite5mTokens: u.cacheWrite5mTokens,
  cacheWrite1hTokens: u.cacheWrite1hTokens,
  audioInputTokens: u.audioInputTokens,
  audioOutputTokens: u.audioOutputTokens,
  imageInputTokens: u.imageInputTokens,
  imageOutputTokens: u.imageOutputTokens,
  images: u.images,
  audioSeconds: u.seconds,
  characters: u.characters,
})

/**
 * usageStage prices what the upstream handler found the call used (the provider's report, or the
 * estimate for a call that ended without one) at the call's price, batch price for batches, and
 * records it in the per-hour usage counters. It runs in `finally`: a failed or aborted call is
 * still counted. Stages that settle reservations sit inside it and see the same `ctx.usage`.
 */
export const usageStage =
  (recorder: UsageRecorder, namespace: string, workload = ''): Stage =>
  (next) =>
    async function usageStage(ctx) {
      let failed = false
      try {
        await next(ctx)
      } catch (error) {
        failed = true
        throw error
      } finally {
        const provider = ctx.provider
        const config = ctx.config
        if (provider && config) {
          const model = ctx.model ?? 'unknown'
          const u = ctx.usage
          ctx.costNano = costNano(ctx.price, u, ctx.endpoint?.batch)
          const status = ctx.reply?.status ?? ctx.status
          // added to in place, not spread into a new literal: this runs on every call
          const counters = usageCounters(u, ctx.costNano)
          counters.requests = 1
          counters.errors = failed || status >= 400 ? 1 : 0
          if (ctx.cacheHit) {
            counters.cacheHits = 1
            counters.cacheSavedNano = ctx.savedNano
          }
          const record: UsageRecord = {
            at: Date.now(),
            provider: provider.name,
            model,
            namespace,
            workload,
            user: requestEndUser(ctx.json),
            counters,
          }
          ctx.usageRecord = record
          recorder.record(record)
        }
      }
    }
