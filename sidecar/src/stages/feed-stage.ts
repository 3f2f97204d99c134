import { isTollgateError } from '../errors.ts'
import type { FeedPublisher } from '../feed/feed-publisher.ts'
import type { Stage } from '../stage.ts'

/**
 * feedStage reports each call the usage stage recorded to the live feed once it is over: its
 * names, status, tokens, cost, what a cache hit saved and the limit that refused it. No prompt,
 * completion or key goes out. `counts` tallies calls and provider errors for the heartbeat.
 */
export const feedStage =
  (feed: FeedPublisher, instance: string, counts: { calls: number; providerErrors: number }): Stage =>
  (next) =>
    async function feedStage(ctx) {
      let thrown: unknown
      try {
        await next(ctx)
      } catch (error) {
        thrown = error
        throw error
      } finally {
        const record = ctx.usageRecord
        if (record) {
          const status =
            thrown === undefined
              ? (ctx.reply?.status ?? ctx.status)
              : isTollgateError(thrown)
                ? thrown.status
                : 500
          counts.calls++
          if (ctx.upstreamFailure && ctx.upstreamFailure !== 'http_429') counts.providerErrors++
          feed.publish({
            type: 'call',
            at: record.at,
            instance,
            provider: record.provider,
            model: record.model,
            namespace: record.namespace,
            workload: record.workload ?? '',
            user: record.user ?? '',
            status,
            cacheHit: ctx.cacheHit,
            inputTokens: ctx.usage.inputTokens,
            outputTokens: ctx.usage.outputTokens,
            costNano: ctx.costNano,
            savedNano: ctx.cacheHit ? ctx.savedNano : 0,
            ...(ctx.refusedBy && { refusedBy: ctx.refusedBy }),
          })
        }
      }
    }
