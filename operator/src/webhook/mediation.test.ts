import type { V1Pod } from '@kubernetes/client-node'
import type { Tenant } from '@tollgate/api'
import { describe, expect, it } from 'vitest'
import { injectedPod, readyTenant, TEST_ATTESTOR } from './fixtures.test-support.ts'
import { mediationStatus } from './mediation.ts'
import type { NamespaceInfo } from './tenant-ownership.ts'

const tenantOf = readyTenant
const tenant = tenantOf('acme', ['prod', 'quiet'])
const namespaces: NamespaceInfo[] = [
  { name: 'prod', labels: { 'tollgate.dev/inject': 'enabled' } },
  { name: 'quiet', labels: {} },
  { name: 'elsewhere', labels: { 'tollgate.dev/inject': 'enabled' } },
]
const pod = (
  namespace: string,
  name: string,
  extra: Partial<NonNullable<V1Pod['metadata']>> = {},
  phase = 'Running',
): V1Pod => ({
  metadata: { namespace, name, ...extra },
  spec: { containers: [{ name: 'app', image: 'example.com/app:1' }] },
  status: { phase },
})

/** injected is a pod as the webhook stores it: sidecar, token volume, attested record. */
const injected = (original: V1Pod, owner: Tenant = tenant): V1Pod =>
  injectedPod(
    original,
    namespaces.find((n) => n.name === original.metadata?.namespace) ?? { name: 'x' },
    owner,
  )

describe('mediationStatus', () => {
  it('counts running pods with the tenant sidecar and is True when none is missing', () => {
    const status = mediationStatus(
      tenant,
      namespaces,
      [
        injected(pod('prod', 'a')),
        injected(pod('prod', 'b')),
        pod('prod', 'pending', {}, 'Pending'),
        pod('prod', 'opted-out', { labels: { 'tollgate.dev/inject': 'disabled' } }),
        pod('quiet', 'not-opted-in'),
        injected(pod('quiet', 'opted-in-by-label', { labels: { 'tollgate.dev/inject': 'enabled' } })),
        pod('elsewhere', 'not-ours'),
      ],
      TEST_ATTESTOR,
    )
    expect(status.mediatedPods).toBe(3)
    expect(status.unmediated).toEqual([])
    expect(status.condition).toMatchObject({ type: 'Mediated', status: 'True', reason: 'AllPodsMediated' })
  })

  it('is False and names opted-in running pods without the sidecar', () => {
    const status = mediationStatus(
      tenant,
      namespaces,
      [
        injected(pod('prod', 'a')),
        pod('prod', 'z-missed'),
        injected(pod('prod', 'other-tenant'), tenantOf('globex', ['prod'])),
        pod('quiet', 'label-only', { labels: { 'tollgate.dev/inject': 'enabled' } }),
      ],
      TEST_ATTESTOR,
    )
    expect(status.mediatedPods).toBe(1)
    expect(status.unmediated).toEqual(['prod/other-tenant', 'prod/z-missed', 'quiet/label-only'])
    expect(status.condition.status).toBe('False')
    expect(status.condition.reason).toBe('UnmediatedPods')
    expect(status.condition.message).toContain('3 running pod(s) opted in but have no Tollgate sidecar')
    expect(status.condition.message).toContain('prod/z-missed')
  })

  // The attack of issue 11: a pod's author writes the annotation the webhook would have written.
  it('does not count a pod whose tollgate.dev/injected annotation its author wrote', () => {
    const genuine = injected(pod('prod', 'genuine'))
    const record = genuine.metadata?.annotations?.['tollgate.dev/injected'] as string
    const forged = [
      // the annotation of a real injected pod, copied onto a pod without the sidecar
      pod('prod', 'copied', { annotations: { 'tollgate.dev/injected': record } }),
      // a record made up from scratch, as the annotation was before attestation
      pod('prod', 'made-up', {
        annotations: { 'tollgate.dev/injected': JSON.stringify({ v: 1, tenant: 'acme', hash: 'h' }) },
      }),
    ]
    // and a real sidecar whose attested parts were changed afterwards (another Redis to talk to)
    const tampered = structuredClone(genuine)
    ;(tampered.metadata as { name: string }).name = 'tampered'
    const env = tampered.spec?.initContainers?.[0]?.env ?? []
    for (const e of env) if (e.name === 'TOLLGATE_REDIS_URL') e.value = 'redis://attacker.example:6379'
    const status = mediationStatus(tenant, namespaces, [genuine, ...forged, tampered], TEST_ATTESTOR)
    expect(status.mediatedPods).toBe(1)
    expect(status.unmediated).toEqual(['prod/copied', 'prod/made-up', 'prod/tampered'])
  })

  it('names at most ten pods and says how many more', () => {
    const pods = Array.from({ length: 13 }, (_, i) => pod('prod', `p${String(i).padStart(2, '0')}`))
    const status = mediationStatus(tenant, namespaces, pods, TEST_ATTESTOR)
    expect(status.condition.message).toMatch(/p09 and 3 more$/)
  })
})
