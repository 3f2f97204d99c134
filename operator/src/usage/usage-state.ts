import type { TenantUsage } from './budget-state.ts'

/**
 * UsageState holds the latest usage per tenant, computed by the usage loop from the ledger and
 * read by the tenant reconciler (status.usage, budget conditions, exhausted budgets in the
 * compiled config). Keeping the tenant's status written by one controller avoids two writers.
 */
export class UsageState {
  readonly #byTenant = new Map<string, TenantUsage>()

  get(tenant: string): TenantUsage | undefined {
    return this.#byTenant.get(tenant)
  }

  set(tenant: string, usage: TenantUsage): void {
    this.#byTenant.set(tenant, usage)
  }

  delete(tenant: string): void {
    this.#byTenant.delete(tenant)
  }

  clear(): void {
    this.#byTenant.clear()
  }
}
