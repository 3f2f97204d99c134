import { describe, expect, it } from 'vitest'
import { invalidSpecs, validPolicy, validTenant } from '../../test/fixtures/specs.ts'
import { validateResource } from './validate.ts'

describe('validateResource', () => {
  it('accepts the valid Tenant and RateLimitPolicy', () => {
    expect(validateResource(validTenant())).toEqual([])
    expect(validateResource(validPolicy())).toEqual([])
  })

  it('fills in schema defaults as the API server would', () => {
    const doc = validTenant() as { spec: { tier?: string; suspended?: boolean } }
    delete doc.spec.tier
    expect(validateResource(doc)).toEqual([])
    expect(doc.spec.tier).toBe('free')
    expect(doc.spec.suspended).toBe(false)
  })

  it.each(invalidSpecs)('refuses $name, naming $field', ({ doc, field }) => {
    const problems = validateResource(structuredClone(doc))
    expect(problems.some((p) => p.startsWith(`${field}:`) || p.startsWith(`${field}[`))).toBe(true)
  })

  it('refuses a document of another kind or version', () => {
    expect(validateResource({ ...validTenant(), apiVersion: 'tollgate.dev/v1' })).toEqual([
      'apiVersion: must be tollgate.dev/v1alpha1',
    ])
    expect(validateResource({ ...validTenant(), kind: 'Pod' })[0]).toMatch(/^kind:/)
  })
})
