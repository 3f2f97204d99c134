import type { Tenant } from '@tollgate/api'
import { Gauge, type Registry } from 'prom-client'

/**
 * BudgetMetrics exports `tollgate_budget_used_ratio{tenant,period}`: spend over limit of every
 * budget period in `Tenant.status.usage`, for the chart's BudgetNearLimit and BudgetExceeded
 * alerts. It keeps the Tenant list the mediation loop reads anyway and computes the series when
 * scraped: a period that has reset since reads 0 (nothing spent in the new one yet), so an idle
 * tenant that used up yesterday's budget does not alert all of today. Tenants and periods that
 * disappear lose their series.
 */
export class BudgetMetrics {
  #tenants: readonly Tenant[] = []

  constructor(registry: Registry, now: () => number = Date.now) {
    const ratio: Gauge<'tenant' | 'period'> = new Gauge({
      name: 'tollgate_budget_used_ratio',
      help: 'Spend in the current budget period divided by its limit, per tenant and period (from Tenant status).',
      labelNames: ['tenant', 'period'],
      registers: [registry],
      collect: () => {
        ratio.reset()
        const at = now()
        for (const tenant of this.#tenants) {
          for (const entry of tenant.status?.usage ?? []) {
            const limit = Number(entry.limitUSD)
            const cost = Number(entry.costUSD)
            if (!(limit > 0) || !Number.isFinite(cost)) continue
            const reset = Date.parse(entry.resetsAt) <= at
            ratio.set({ tenant: tenant.metadata.name, period: entry.period }, reset ? 0 : cost / limit)
          }
        }
      },
    })
  }

  /** observe replaces the tenants the series are computed from. */
  observe(tenants: readonly Tenant[]) {
    this.#tenants = tenants
  }
}
