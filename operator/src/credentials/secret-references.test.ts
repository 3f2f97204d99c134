import type { CredentialGrant, Tenant } from '@tollgate/api'
import { describe, expect, it } from 'vitest'
import { isPermitted, referenceProblems, secretReferences } from './secret-references.ts'

const tenant: Tenant = {
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Tenant',
  metadata: { name: 'acme' },
  spec: {
    providers: [
      {
        name: 'openai',
        type: 'openai',
        credentialsSecretRef: { namespace: 'tollgate-system', name: 'k', key: 'apiKey' },
      },
      {
        name: 'claude',
        type: 'anthropic',
        credentialsSecretRef: { namespace: 'team', name: 'claude', key: 'key' },
      },
      { name: 'free', type: 'anthropic' },
    ],
    alerts: {
      webhookSecretRef: { namespace: 'kube-system', name: 'bootstrap-token-abcdef', key: 'token-secret' },
    },
  },
}
const grant = (namespace: string, tenants: string[], secrets: string[]): CredentialGrant => ({
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'CredentialGrant',
  metadata: { name: 'g', namespace },
  spec: { tenants, secrets },
})

describe('Secret references', () => {
  it('lists every reference with the field that makes it', () => {
    expect(secretReferences(tenant).map((r) => [r.field, r.namespace, r.name, r.provider])).toEqual([
      ['spec.providers[0].credentialsSecretRef', 'tollgate-system', 'k', 'openai'],
      ['spec.providers[1].credentialsSecretRef', 'team', 'claude', 'claude'],
      ['spec.alerts.webhookSecretRef', 'kube-system', 'bootstrap-token-abcdef', undefined],
    ])
  })

  it.each([
    ['the operator namespace, no grant', { namespace: 'tollgate-system', name: 'k' }, [], true],
    ['another namespace, no grant', { namespace: 'team', name: 'claude' }, [], false],
    [
      'a grant in that namespace for tenant and Secret',
      { namespace: 'team', name: 'claude' },
      [grant('team', ['acme'], ['claude'])],
      true,
    ],
    [
      'a grant naming another Secret',
      { namespace: 'team', name: 'claude' },
      [grant('team', ['acme'], ['other'])],
      false,
    ],
    [
      'a grant naming another tenant',
      { namespace: 'team', name: 'claude' },
      [grant('team', ['globex'], ['claude'])],
      false,
    ],
    [
      'a grant in another namespace',
      { namespace: 'team', name: 'claude' },
      [grant('elsewhere', ['acme'], ['claude'])],
      false,
    ],
  ] as const)('%s → %s', (_, ref, grants, expected) => {
    expect(isPermitted('acme', ref, 'tollgate-system', grants)).toBe(expected)
  })

  it('names the field of each reference that is not permitted', () => {
    expect(referenceProblems(tenant, 'tollgate-system', [grant('team', ['acme'], ['claude'])])).toEqual([
      "spec.alerts.webhookSecretRef: Secret kube-system/bootstrap-token-abcdef is outside the operator's namespace tollgate-system and no CredentialGrant in kube-system names Tenant acme and Secret bootstrap-token-abcdef",
    ])
  })
})
