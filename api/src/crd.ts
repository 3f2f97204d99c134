import type { TSchema } from '@sinclair/typebox'
import { CredentialGrantSpec } from './credential-grant.ts'
import { RateLimitPolicySpec, RateLimitPolicyStatus } from './ratelimit-policy.ts'
import { GROUP, VERSION } from './resources.ts'
import { TenantSpec, TenantStatus } from './tenant.ts'

/** KindInfo names one custom resource and the schemas that define it. */
export interface KindInfo {
  kind: 'Tenant' | 'RateLimitPolicy' | 'CredentialGrant'
  scope: 'Cluster' | 'Namespaced'
  plural: string
  shortNames: string[]
  description: string
  spec: TSchema
  /** Absent for kinds the operator writes no status to. */
  status?: TSchema
  printerColumns: { name: string; type: string; jsonPath: string; description: string; priority?: number }[]
}

export const KINDS: KindInfo[] = [
  {
    kind: 'Tenant',
    scope: 'Cluster',
    plural: 'tenants',
    shortNames: ['tn'],
    description:
      'A Tenant is a team or workload group whose LLM calls Tollgate governs: which providers and models it may use, its limits, budgets and cache.',
    spec: TenantSpec,
    status: TenantStatus,
    printerColumns: [
      { name: 'Tier', type: 'string', jsonPath: '.spec.tier', description: 'Service tier.' },
      {
        name: 'Spend today',
        type: 'string',
        jsonPath: '.status.usage[?(@.period=="day")].costUSD',
        description: 'Spend in the current day, USD.',
      },
      {
        name: 'Budget',
        type: 'string',
        jsonPath: '.spec.budgets[?(@.period=="day")].limitUSD',
        description: 'Daily budget, USD.',
      },
      {
        name: 'Ready',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="Ready")].status',
        description: 'Whether the tenant is enforced.',
      },
      {
        name: 'Age',
        type: 'date',
        jsonPath: '.metadata.creationTimestamp',
        description: 'Time since creation.',
      },
    ],
  },
  {
    kind: 'RateLimitPolicy',
    scope: 'Cluster',
    plural: 'ratelimitpolicies',
    shortNames: ['rlp'],
    description:
      'A RateLimitPolicy adds limits, circuit breaking, retries and timeouts to the tenants it targets.',
    spec: RateLimitPolicySpec,
    status: RateLimitPolicyStatus,
    printerColumns: [
      {
        name: 'Accepted',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="Accepted")].status',
        description: 'Whether the policy is in force.',
      },
      { name: 'Shadow', type: 'boolean', jsonPath: '.spec.shadow', description: 'Counts but never rejects.' },
      {
        name: 'Age',
        type: 'date',
        jsonPath: '.metadata.creationTimestamp',
        description: 'Time since creation.',
      },
    ],
  },
  {
    kind: 'CredentialGrant',
    scope: 'Namespaced',
    plural: 'credentialgrants',
    shortNames: ['cg'],
    description:
      "A CredentialGrant lets the Tenants it names reference the Secrets it names in its namespace, like Gateway API's ReferenceGrant: without one, a Tenant may only reference Secrets in the operator's namespace.",
    spec: CredentialGrantSpec,
    printerColumns: [
      { name: 'Tenants', type: 'string', jsonPath: '.spec.tenants', description: 'Tenants granted.' },
      { name: 'Secrets', type: 'string', jsonPath: '.spec.secrets', description: 'Secrets granted.' },
      {
        name: 'Age',
        type: 'date',
        jsonPath: '.metadata.creationTimestamp',
        description: 'Time since creation.',
      },
    ],
  },
]

/** STANDALONE_KINDS are the kinds a standalone sidecar's config file may hold (besides Secrets). */
export const STANDALONE_KINDS = KINDS.filter((k) => k.kind === 'Tenant' || k.kind === 'RateLimitPolicy')

/** openAPISchema is the whole-object schema of a kind, as the CRD and the standalone validator use it. */
export function openAPISchema(info: KindInfo): Record<string, unknown> {
  return plain({
    type: 'object',
    description: info.description,
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string', description: 'API version of this object, tollgate.dev/v1alpha1.' },
      kind: { type: 'string', description: `Kind of this object, ${info.kind}.` },
      metadata: { type: 'object' },
      spec: info.spec,
      ...(info.status && { status: info.status }),
    },
  })
}

/** customResourceDefinition renders the CRD manifest of a kind. */
export function customResourceDefinition(info: KindInfo): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${info.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: info.scope,
      names: {
        kind: info.kind,
        listKind: `${info.kind}List`,
        plural: info.plural,
        singular: info.kind.toLowerCase(),
        shortNames: info.shortNames,
        categories: ['tollgate'],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          ...(info.status && { subresources: { status: {} } }),
          additionalPrinterColumns: info.printerColumns,
          schema: { openAPIV3Schema: openAPISchema(info) },
        },
      ],
    },
  }
}

/** plain drops TypeBox's symbol keys and fixes key order, so the output is stable JSON. */
function plain(value: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value))
}
