import { describe, expect, inject, it } from 'vitest'
import { stringify } from 'yaml'
import { invalidSpecs, validPolicy, validTenant } from './fixtures/specs.ts'
import { kubectl, kubectlOK } from './support/kubectl.ts'

const stack = inject('stack')
const yaml = (doc: unknown) => stringify(doc)

describe('the CRDs on a real API server', () => {
  it('are installed and Established', async () => {
    const out = await kubectlOK(stack, [
      'get',
      'crd',
      'tenants.tollgate.dev',
      'ratelimitpolicies.tollgate.dev',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Established")].status}{"\\n"}{end}',
    ])
    expect(out.trim().split('\n').sort()).toEqual([
      'ratelimitpolicies.tollgate.dev=True',
      'tenants.tollgate.dev=True',
    ])
  })

  it('store a valid Tenant and RateLimitPolicy and read them back', async () => {
    const tenant = validTenant('crd-roundtrip')
    const policy = validPolicy('crd-roundtrip-policy', 'crd-roundtrip')
    await kubectlOK(stack, ['apply', '-f', '-'], `${yaml(tenant)}---\n${yaml(policy)}`)
    const storedTenant = JSON.parse(await kubectlOK(stack, ['get', 'tenant', 'crd-roundtrip', '-o', 'json']))
    expect(storedTenant.spec).toEqual({
      ...(tenant.spec as object),
      suspended: false,
      unpricedModels: 'deny',
      unpricedFees: 'deny',
    })
    const storedPolicy = JSON.parse(
      await kubectlOK(stack, ['get', 'rlp', 'crd-roundtrip-policy', '-o', 'json']),
    )
    expect(storedPolicy.spec).toEqual(policy.spec)
  })

  it('fill in defaults', async () => {
    const tenant = validTenant('crd-defaults') as { spec: Record<string, unknown> }
    delete tenant.spec.tier
    const providers = tenant.spec.providers as Record<string, unknown>[]
    tenant.spec.providers = [{ ...providers[0], endpoints: {} }, ...providers.slice(1)]
    await kubectlOK(stack, ['apply', '-f', '-'], yaml(tenant))
    const stored = JSON.parse(await kubectlOK(stack, ['get', 'tn', 'crd-defaults', '-o', 'json']))
    expect(stored.spec.tier).toBe('free')
    expect(stored.spec.unpricedModels).toBe('deny')
    expect(stored.spec.unpricedFees).toBe('deny')
    expect(stored.spec.providers[0].endpoints).toEqual({ batches: 'refuse', backgroundResponses: 'refuse' })
  })

  it.each(invalidSpecs)('refuse $name with a message naming $field', async ({ doc, field }) => {
    const result = await kubectl(stack, ['apply', '-f', '-'], yaml(doc))
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain(field)
    const name = (doc.metadata as { name: string }).name
    const kind = doc.kind === 'Tenant' ? 'tenant' : 'rlp'
    const lookup = await kubectl(stack, ['get', kind, name])
    expect(lookup.stderr).toContain('NotFound')
  })

  it('take status only through the status subresource', async () => {
    const tenant = { ...validTenant('crd-status'), status: { mediatedPods: 7 } }
    await kubectlOK(stack, ['create', '-f', '-'], yaml(tenant))
    const read = async () => JSON.parse(await kubectlOK(stack, ['get', 'tn', 'crd-status', '-o', 'json']))
    expect((await read()).status).toBeUndefined()
    await kubectlOK(stack, [
      'patch',
      'tn',
      'crd-status',
      '--type=merge',
      '-p',
      '{"status":{"mediatedPods":3}}',
    ])
    expect((await read()).status).toBeUndefined()
    await kubectlOK(stack, [
      'patch',
      'tn',
      'crd-status',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"mediatedPods":3}}',
    ])
    expect((await read()).status).toEqual({ mediatedPods: 3 })
  })

  it('show tier, spend, budget and readiness in kubectl get tenants', async () => {
    await kubectlOK(stack, ['apply', '-f', '-'], yaml(validTenant('crd-columns')))
    await kubectlOK(stack, [
      'patch',
      'tn',
      'crd-columns',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({
        status: {
          usage: [
            {
              period: 'day',
              start: '2026-11-23T00:00:00Z',
              resetsAt: '2026-11-24T00:00:00Z',
              requests: 3,
              inputTokens: 10,
              outputTokens: 20,
              costUSD: '12.5',
            },
          ],
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'Synced',
              message: 'ok',
              lastTransitionTime: '2026-11-23T00:00:00Z',
            },
          ],
        },
      }),
    ])
    const out = await kubectlOK(stack, ['get', 'tenants', 'crd-columns'])
    const [header, row] = out.trim().split('\n')
    expect(header?.split(/\s{2,}/)).toEqual(['NAME', 'TIER', 'SPEND TODAY', 'BUDGET', 'READY', 'AGE'])
    expect(row?.split(/\s+/).slice(0, 5)).toEqual(['crd-columns', 'pro', '12.5', '50', 'True'])
  })

  it('are found by short name and category', async () => {
    await kubectlOK(
      stack,
      ['apply', '-f', '-'],
      `${yaml(validTenant('crd-category'))}---\n${yaml(validPolicy('crd-category', 'crd-category'))}`,
    )
    const out = await kubectlOK(stack, ['get', 'tollgate', '-o', 'name'])
    expect(out).toContain('ratelimitpolicy.tollgate.dev/crd-category')
    expect(out).toContain('tenant.tollgate.dev/crd-category')
    expect(await kubectlOK(stack, ['get', 'rlp', 'crd-category', '-o', 'name'])).toBe(
      'ratelimitpolicy.tollgate.dev/crd-category\n',
    )
    expect(await kubectlOK(stack, ['get', 'tn', 'crd-category', '-o', 'name'])).toBe(
      'tenant.tollgate.dev/crd-category\n',
    )
  })

  it('teach kubectl explain', async () => {
    const out = await kubectlOK(stack, ['explain', 'tenant.spec.budgets'])
    expect(out).toContain('A spending limit')
    expect(out).toContain('limitUSD')
    expect(out).toContain('IANA time zone')
  })
})
