import type { CredentialGrantSpec } from './credential-grant.ts'
import type { RateLimitPolicySpec, RateLimitPolicyStatus } from './ratelimit-policy.ts'
import type { TenantSpec, TenantStatus } from './tenant.ts'

export const GROUP = 'tollgate.dev'
export const VERSION = 'v1alpha1'
export const API_VERSION = `${GROUP}/${VERSION}`
export const FINALIZER = 'tollgate.dev/finalizer'

/** ObjectMeta is the part of Kubernetes object metadata Tollgate reads. */
export interface ObjectMeta {
  name: string
  namespace?: string
  uid?: string
  generation?: number
  resourceVersion?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  finalizers?: string[]
  deletionTimestamp?: string
  creationTimestamp?: string
}

export interface Tenant {
  apiVersion: typeof API_VERSION
  kind: 'Tenant'
  metadata: ObjectMeta
  spec: TenantSpec
  status?: TenantStatus
}

export interface RateLimitPolicy {
  apiVersion: typeof API_VERSION
  kind: 'RateLimitPolicy'
  metadata: ObjectMeta
  spec: RateLimitPolicySpec
  status?: RateLimitPolicyStatus
}

/** CredentialGrant is namespaced: it lives in the namespace whose Secrets it grants. */
export interface CredentialGrant {
  apiVersion: typeof API_VERSION
  kind: 'CredentialGrant'
  metadata: ObjectMeta & { namespace: string }
  spec: CredentialGrantSpec
}

/** Condition is metav1.Condition. */
export interface Condition {
  type: string
  status: 'True' | 'False' | 'Unknown'
  observedGeneration?: number
  lastTransitionTime: string
  reason: string
  message: string
}
