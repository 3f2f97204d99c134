import type { Logger } from 'pino'
import type { RuntimeConfig, RuntimeProvider } from '../config/runtime-config.ts'
import type { RequestContext } from '../context.ts'
import type { DeferredCalls, DeferredEntry } from '../deferred/deferred-calls.ts'
import type { DeferredReport } from '../deferred/deferred-report.ts'
import { isDeferredSubmission } from '../deferred/deferred-submission.ts'
import type { Stage } from '../stage.ts'
import type { SidecarMetrics } from '../telemetry/metrics.ts'
import { costNano } from '../usage/usage.ts'
import { usageCounters } from './usage-stage.ts'

/**
 * deferredStage settles the calls a provider runs after its answer: a governed batch or a
 * background Response is charged its estimate when submitted (the stages inside did that), and
 * kept as a deferred call under the id the provider gave it. A later read that carries its final
 * usage (the retrieved batch or Response once final, an Anthropic batch's results read to the
 * end), by this replica or any other, replaces the estimate by that usage priced from the table,
 * in the ledger and in the spend it was charged, exactly once. Both happen after the answer went
 * out; a failure is logged and counted and leaves the estimate counted (the safe side).
 */
export const deferredStage =
  (calls: DeferredCalls, log: Logger, metrics?: SidecarMetrics): Stage =>
  (next) => {
    async function keepOrSettle(ctx: RequestContext): Promise<void> {
      await next(ctx)
      const { config, provider } = ctx
      if (!config || !provider) return
      const tenant = config.compiled.tenant
      if (
        ctx.deferredId &&
        ctx.usageRecord &&
        ctx.status >= 200 &&
        ctx.status < 300 &&
        isDeferredSubmission(ctx)
      ) {
        const entry = entryOf(ctx, calls.backend)
        calls.submitted(tenant, ctx.deferredId, entry).catch((err) => {
          metrics?.deferredCalls.inc({ outcome: 'error' })
          log.warn({ err, id: ctx.deferredId }, 'deferred call not kept; its estimate stands')
        })
      } else if (ctx.report) {
        settle(calls, config, provider, ctx.report)
          .then((outcome) => metrics?.deferredCalls.inc({ outcome }))
          .catch((err) => {
            metrics?.deferredCalls.inc({ outcome: 'error' })
            log.warn({ err, id: ctx.report?.id }, 'deferred call not settled; its estimate stands')
          })
      }
    }
    return function deferredStage(ctx) {
      // only batches, background Responses and reads of them have anything to keep or settle
      const e = ctx.endpoint
      if (!e?.batch && !e?.background && !e?.report) return next(ctx)
      return keepOrSettle(ctx)
    }
  }

function entryOf(ctx: RequestContext, backend: DeferredCalls['backend']): DeferredEntry {
  const record = ctx.usageRecord as NonNullable<RequestContext['usageRecord']>
  const charged = ctx.spendCharged
  return {
    provider: record.provider,
    model: record.model,
    namespace: record.namespace,
    workload: record.workload ?? '',
    user: record.user ?? '',
    at: record.at,
    batch: ctx.endpoint?.batch === true,
    counters: usageCounters(ctx.usage, ctx.costNano),
    spend: charged && charged.backend === backend ? [...charged.keys] : [],
  }
}

async function settle(
  calls: DeferredCalls,
  config: RuntimeConfig,
  provider: RuntimeProvider,
  report: DeferredReport,
): Promise<string> {
  const tenant = config.compiled.tenant
  const entry = await calls.pending(tenant, provider.name, report.id)
  if (!entry) return 'unknown'
  const cost = costNano(config.priceOf(provider.type, entry.model), report.usage, entry.batch)
  const final = usageCounters(report.usage, cost)
  return calls.settle(tenant, report.id, entry, final, cost - (entry.counters.costNano ?? 0))
}
