import type { Tenant } from '@tollgate/api'
import { Gauge, type Registry } from 'prom-client'

/**
 * BudgetMetrics exports `tollgate_budget_used_ratio{tenant,period}`: spend over limit of every
 * budget period in `Tenant.status.usage`, for the chart's BudgetNearLimit and BudgetExceeded
 * alerts. It is refreshed from the Tenant list the mediation loop reads anyway; tenants and
 * periods that disappear lose their series.
 */
export class BudgetMetrics {
  readonly #ratio: Gauge<'tenant' | 'period'>

  constructor(registry: Registry) {
    this.#ratio = new Gauge({
      name: 'tollgate_budget_used_ratio',
      help: 'Spend in the current budget period divided by its limit, per tenant and period (from Tenant status).',
      labelNames: ['tenant', 'period'],
      registers: [registry],
    })
  }

  /** observe replaces every series with the usage of these tenants. */
  observe(tenants: Tenant[]) {
    this.#ratio.reset()
    for (const tenant of tenants) {
      for (const entry of tenant.status?.usage ?? []) {
        const limit = Number(entry.limitUSD)
        const cost = Number(entry.costUSD)
        if (!(limit > 0) || !Number.isFinite(cost)) continue
        this.#ratio.set({ tenant: tenant.metadata.name, period: entry.period }, cost / limit)
      }
    }
  }
}
