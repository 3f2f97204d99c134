import type { SidecarHeartbeat } from '@tollgate/api'
import type { AnalyticsStore, Bucket, Grouped, SeriesPoint, Summary } from './analytics-store.ts'
import type { LiveState } from './live-state.ts'
import type { Refusal, RefusalStore } from './refusal-store.ts'

/** TenantReport is everything the analytics API and the console's tenant page show of one tenant. */
export interface TenantReport {
  tenant: string
  from: string
  to: string
  bucket: Bucket
  totals: Summary
  /** Spend, tokens and calls per bucket. */
  series: SeriesPoint[]
  /** Per value of each dimension, largest spend first (users: the top N only). */
  by: {
    provider: Grouped[]
    model: Grouped[]
    namespace: Grouped[]
    workload: Grouped[]
    user: Grouped[]
  }
  refusals: { byLimit: { limit: string; refusals: number }[]; recent: Refusal[] }
  /** The tenant's live sidecars: breaker states, limiter, config version. */
  sidecars: SidecarHeartbeat[]
  /** Providers whose breaker is not closed in some sidecar: provider/model → state. */
  breakers: Record<string, 'open' | 'half-open'>
}

/** ReportSources are where a report's parts come from. */
export interface ReportSources {
  analytics: AnalyticsStore
  refusals: RefusalStore
  live: LiveState
}

/**
 * tenantReport gathers a tenant's report over [from, to): the ledger's sums (Postgres), the
 * refusals (Postgres) and the sidecars' heartbeats (Redis). A failure of either store rejects,
 * with the cause's code, for the caller to answer 503.
 */
export async function tenantReport(
  s: ReportSources,
  tenant: string,
  from: Date,
  to: Date,
  bucket: Bucket,
  top: number,
): Promise<TenantReport> {
  const range = { tenants: [tenant], from, to }
  const [totals, series, provider, model, namespace, workload, user, byLimit, recent, sidecars] =
    await Promise.all([
      s.analytics.summary(range),
      s.analytics.series(range, bucket),
      s.analytics.grouped(range, 'provider'),
      s.analytics.grouped(range, 'model'),
      s.analytics.grouped(range, 'namespace'),
      s.analytics.grouped(range, 'workload'),
      s.analytics.grouped(range, 'user', top),
      s.refusals.byLimit([tenant], from, to),
      s.refusals.recent(tenant),
      s.live.heartbeats(tenant),
    ])
  const breakers: TenantReport['breakers'] = {}
  for (const beat of sidecars)
    for (const [name, state] of Object.entries(beat.breakers))
      if (state !== 'closed' && breakers[name] !== 'open') breakers[name] = state
  return {
    tenant,
    from: from.toISOString(),
    to: to.toISOString(),
    bucket,
    totals,
    series,
    by: { provider, model, namespace, workload, user: user.filter((u) => u.key !== '') },
    refusals: { byLimit, recent },
    sidecars,
    breakers,
  }
}
