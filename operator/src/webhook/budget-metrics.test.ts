import type { Tenant } from '@tollgate/api'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { BudgetMetrics } from './budget-metrics.ts'

const tenant = (
  name: string,
  usage: { period: 'day' | 'month'; costUSD: string; limitUSD?: string; resetsAt?: string }[],
): Tenant => ({
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Tenant',
  metadata: { name },
  spec: { providers: [{ name: 'openai', type: 'openai' }] },
  status: {
    usage: usage.map((u) => ({
      ...u,
      start: '',
      resetsAt: u.resetsAt ?? '2026-11-24T00:00:00.000Z',
      requests: 1,
      inputTokens: 1,
      outputTokens: 1,
    })),
  },
})

describe('BudgetMetrics', () => {
  it('exports spend over limit per tenant and period, and forgets tenants that are gone', async () => {
    const registry = new Registry()
    const metrics = new BudgetMetrics(registry, () => Date.parse('2026-11-23T15:00:00Z'))
    metrics.observe([
      tenant('acme', [
        { period: 'day', costUSD: '4.5', limitUSD: '5' },
        { period: 'month', costUSD: '10', limitUSD: '100' },
      ]),
      tenant('free-rider', [{ period: 'day', costUSD: '3' }]),
    ])
    const text = await registry.getSingleMetricAsString('tollgate_budget_used_ratio')
    expect(text).toContain('tollgate_budget_used_ratio{tenant="acme",period="day"} 0.9')
    expect(text).toContain('tollgate_budget_used_ratio{tenant="acme",period="month"} 0.1')
    expect(text).not.toContain('free-rider')
    metrics.observe([])
    expect(await registry.getSingleMetricAsString('tollgate_budget_used_ratio')).not.toContain('acme')
  })

  it('reads 0 for a period that has reset since the status was written, without waiting for new data', async () => {
    const registry = new Registry()
    let now = Date.parse('2026-11-23T23:59:00Z')
    const metrics = new BudgetMetrics(registry, () => now)
    metrics.observe([
      tenant('acme', [{ period: 'day', costUSD: '5', limitUSD: '5', resetsAt: '2026-11-24T00:00:00.000Z' }]),
    ])
    const ratio = async () => await registry.getSingleMetricAsString('tollgate_budget_used_ratio')
    expect(await ratio()).toContain('tollgate_budget_used_ratio{tenant="acme",period="day"} 1')
    now = Date.parse('2026-11-24T00:00:30Z')
    expect(await ratio()).toContain('tollgate_budget_used_ratio{tenant="acme",period="day"} 0')
  })
})
