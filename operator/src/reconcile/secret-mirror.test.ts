import type { Tenant } from '@tollgate/api'
import { describe, expect, it } from 'vitest'
import { mirrorDiffers, planMirrors } from './secret-mirror.ts'

const tenant: Tenant = {
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Tenant',
  metadata: { name: 'acme', uid: 'u1' },
  spec: {
    providers: [
      {
        name: 'openai',
        type: 'openai',
        credentialsSecretRef: { namespace: 'tollgate-system', name: 'openai-key', key: 'apiKey' },
      },
      {
        name: 'anthropic',
        type: 'anthropic',
        credentialsSecretRef: { namespace: 'tollgate-system', name: 'anthropic-key', key: 'apiKey' },
      },
      { name: 'local', type: 'openai-compatible', baseURL: 'http://127.0.0.1:1' },
    ],
  },
}

describe('planMirrors', () => {
  it('mirrors each provider Secret into each namespace under the provider name, owned by the Tenant', () => {
    const plan = planMirrors(tenant, ['a', 'b'], (ns, name) =>
      ns === 'tollgate-system'
        ? { data: { apiKey: Buffer.from(`key-of-${name}`).toString('base64') } }
        : undefined,
    )
    expect(plan.problems).toEqual([])
    expect(plan.desired.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`)).toEqual([
      'a/tollgate-acme-openai',
      'b/tollgate-acme-openai',
      'a/tollgate-acme-anthropic',
      'b/tollgate-acme-anthropic',
    ])
    const first = plan.desired[0]
    expect(first?.data).toEqual({ openai: Buffer.from('key-of-openai-key').toString('base64') })
    expect(first?.metadata?.labels?.['tollgate.dev/tenant']).toBe('acme')
    expect(first?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Tenant', name: 'acme', uid: 'u1' })
  })

  it('names a missing Secret and a missing key, and keeps their existing mirrors', () => {
    const plan = planMirrors(tenant, ['a'], (_ns, name) =>
      name === 'openai-key' ? { data: { other: 'eA==' } } : undefined,
    )
    expect(plan.problems).toEqual([
      'key "apiKey" not found in Secret tollgate-system/openai-key (provider openai)',
      'Secret tollgate-system/anthropic-key not found (provider anthropic)',
    ])
    expect(plan.desired).toEqual([])
    expect([...plan.keep]).toEqual(['tollgate-acme-openai', 'tollgate-acme-anthropic'])
  })

  it('detects a changed value but not a foreign extra label', () => {
    const plan = planMirrors(tenant, ['a'], () => ({ data: { apiKey: 'b2xk' } }))
    const desired = plan.desired[0] as NonNullable<(typeof plan.desired)[0]>
    const existing = structuredClone(desired)
    existing.metadata = { ...existing.metadata, labels: { ...existing.metadata?.labels, extra: 'x' } }
    expect(mirrorDiffers(existing, desired)).toBe(false)
    expect(mirrorDiffers({ ...existing, data: { openai: 'bmV3' } }, desired)).toBe(true)
  })
})
