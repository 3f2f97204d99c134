import type { Limits, Tenant, TenantStatus } from '@tollgate/api'
import type { AnalyticsStore, Sums } from './analytics-store.ts'

/** TenantSummary is one row of the tenants overview. */
export interface TenantSummary {
  name: string
  tier: string
  suspended: boolean
  /** Conditions that are True, and Ready's state. */
  ready: boolean
  conditions: { type: string; status: string; reason?: string; message?: string }[]
  /** Spend against budget per period, as the operator last wrote it into the status. */
  budgets: { period: string; costUSD: string; limitUSD?: string; remainingUSD?: string; resetsAt: string }[]
  /** The tenant's own limits (fields left out take its tier's defaults, shown as `tier`). */
  limits: Limits
  mediatedPods: number
  /** The ledger's sums over the overview's range. */
  usage: Sums
}

const EMPTY: Sums = {
  requests: 0,
  inputTokens: 0,
  outputTokens: 0,
  costNano: 0,
  cacheHits: 0,
  cacheSavedNano: 0,
  errors: 0,
}

/** tenantOverview summarises tenants: their status (budgets, conditions, pods) and the ledger's sums. */
export async function tenantOverview(
  s: { analytics: AnalyticsStore },
  tenants: Tenant[],
  from: Date,
  to: Date,
): Promise<TenantSummary[]> {
  const names = tenants.map((t) => t.metadata.name)
  const sums = names.length ? await s.analytics.grouped({ tenants: names, from, to }, 'tenant') : []
  const byName = new Map(sums.map((g) => [g.key, g]))
  return tenants.map((t) => {
    const status = (t as Tenant & { status?: TenantStatus }).status ?? {}
    const conditions = (status.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      ...(c.reason && { reason: c.reason }),
      ...(c.message && { message: c.message }),
    }))
    const { key: _key, ...usage } = byName.get(t.metadata.name) ?? { key: '', ...EMPTY }
    return {
      name: t.metadata.name,
      tier: t.spec.tier ?? 'standard',
      suspended: t.spec.suspended === true,
      ready: conditions.some((c) => c.type === 'Ready' && c.status === 'True'),
      conditions,
      budgets: (status.usage ?? []).map((u) => ({
        period: u.period,
        costUSD: u.costUSD,
        ...(u.limitUSD !== undefined && { limitUSD: u.limitUSD }),
        ...(u.remainingUSD !== undefined && { remainingUSD: u.remainingUSD }),
        resetsAt: u.resetsAt,
      })),
      limits: t.spec.limits ?? {},
      mediatedPods: status.mediatedPods ?? 0,
      usage,
    }
  })
}
