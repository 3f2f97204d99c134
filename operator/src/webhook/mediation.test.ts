import type { V1Pod } from '@kubernetes/client-node'
import type { Tenant } from '@tollgate/api'
import { describe, expect, it } from 'vitest'
import { mediationStatus } from './mediation.ts'
import type { NamespaceInfo } from './tenant-ownership.ts'

const tenant: Tenant = {
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Tenant',
  metadata: { name: 'acme' },
  spec: { namespaces: ['prod', 'quiet'], providers: [{ name: 'openai', type: 'openai' }] },
}
const namespaces: NamespaceInfo[] = [
  { name: 'prod', labels: { 'tollgate.dev/inject': 'enabled' } },
  { name: 'quiet', labels: {} },
  { name: 'elsewhere', labels: { 'tollgate.dev/inject': 'enabled' } },
]
const injected = (t: string) => ({ 'tollgate.dev/injected': JSON.stringify({ v: 1, tenant: t, hash: 'h' }) })
const pod = (
  namespace: string,
  name: string,
  extra: Partial<NonNullable<V1Pod['metadata']>> = {},
  phase = 'Running',
): V1Pod => ({
  metadata: { namespace, name, ...extra },
  status: { phase },
})

describe('mediationStatus', () => {
  it('counts running pods with the tenant sidecar and is True when none is missing', () => {
    const status = mediationStatus(tenant, namespaces, [
      pod('prod', 'a', { annotations: injected('acme') }),
      pod('prod', 'b', { annotations: injected('acme') }),
      pod('prod', 'pending', {}, 'Pending'),
      pod('prod', 'opted-out', { labels: { 'tollgate.dev/inject': 'disabled' } }),
      pod('quiet', 'not-opted-in'),
      pod('quiet', 'opted-in-by-label', {
        labels: { 'tollgate.dev/inject': 'enabled' },
        annotations: injected('acme'),
      }),
      pod('elsewhere', 'not-ours'),
    ])
    expect(status.mediatedPods).toBe(3)
    expect(status.unmediated).toEqual([])
    expect(status.condition).toMatchObject({ type: 'Mediated', status: 'True', reason: 'AllPodsMediated' })
  })

  it('is False and names opted-in running pods without the sidecar', () => {
    const status = mediationStatus(tenant, namespaces, [
      pod('prod', 'a', { annotations: injected('acme') }),
      pod('prod', 'z-missed'),
      pod('prod', 'other-tenant', { annotations: injected('globex') }),
      pod('quiet', 'label-only', { labels: { 'tollgate.dev/inject': 'enabled' } }),
    ])
    expect(status.mediatedPods).toBe(1)
    expect(status.unmediated).toEqual(['prod/other-tenant', 'prod/z-missed', 'quiet/label-only'])
    expect(status.condition.status).toBe('False')
    expect(status.condition.reason).toBe('UnmediatedPods')
    expect(status.condition.message).toContain('3 running pod(s) opted in but have no Tollgate sidecar')
    expect(status.condition.message).toContain('prod/z-missed')
  })

  it('names at most ten pods and says how many more', () => {
    const pods = Array.from({ length: 13 }, (_, i) => pod('prod', `p${String(i).padStart(2, '0')}`))
    const status = mediationStatus(tenant, namespaces, pods)
    expect(status.condition.message).toMatch(/p09 and 3 more$/)
  })
})
