import type { V1Pod } from '@kubernetes/client-node'
import { ANNOTATIONS, LABELS, type Tenant } from '@tollgate/api'
import type { Attestor } from './attestation.ts'
import { INJECT_DISABLED, INJECT_ENABLED, SIDECAR_CONTAINER } from './names.ts'
import {
  type OperatorSecrets,
  protectedSecretsIn,
  type Refusal,
  refusalOf,
  sharesProcesses,
} from './pod-refusals.ts'
import { isTenantReady, type NamespaceInfo, tenantsOwning } from './tenant-ownership.ts'

/**
 * SkipReason says why a pod was not injected. The first three are the ordinary case (the pod is
 * not Tollgate's business, or already has its sidecar); the refusals are pods that would hand an
 * app Tollgate's credentials, denied whatever the failure policy; the others are pods that asked
 * for a sidecar and did not get one: they are warned about, counted, and denied under
 * failurePolicy Fail.
 */
export type SkipReason =
  | 'NotOptedIn'
  | 'OptedOut'
  | 'AlreadyInjected'
  | Refusal['reason']
  | 'NoTenant'
  | 'AmbiguousTenant'
  | 'TenantNotReady'
  | 'HostNetwork'
  | 'SharedProcesses'
  | 'SidecarNameTaken'
  | 'InternalError'

/** isProblem is true for skips of pods that wanted a sidecar, and for refusals. */
export const isProblem = (reason: SkipReason) =>
  reason !== 'NotOptedIn' && reason !== 'OptedOut' && reason !== 'AlreadyInjected'

/** isRefusal is true for reasons that deny the pod under any failure policy. */
export const isRefusal = (reason: SkipReason) =>
  reason === 'TokenAudienceMounted' || reason === 'TollgateSecretMounted'

/** Decision is the outcome of injectRequired. */
export type Decision =
  | { inject: true; tenant: Tenant }
  | { inject: false; reason: SkipReason; message: string }

/** DecisionInput is everything injectRequired looks at. */
export interface DecisionInput {
  pod: V1Pod
  namespace: NamespaceInfo
  tenants: Iterable<Tenant>
  /** Recognises a sidecar this webhook injected (the pod's annotations alone prove nothing). */
  attestor: Attestor
  /** The operator's own Secrets, which no pod in its namespace may read. */
  operator: OperatorSecrets
}

/**
 * wantsInjection applies the opt-in rule: the namespace label `tollgate.dev/inject=enabled` opts
 * every pod in, a pod label `disabled` opts one pod out, a pod label `enabled` opts one pod in
 * unless its namespace says `disabled`. The MutatingWebhookConfiguration's selectors encode the
 * same rule so the API server does not even call for other pods; this keeps it true when it does.
 */
export function wantsInjection(pod: V1Pod, namespace: NamespaceInfo): 'yes' | 'NotOptedIn' | 'OptedOut' {
  const nsLabel = namespace.labels?.[LABELS.inject]
  const podLabel = pod.metadata?.labels?.[LABELS.inject]
  if (podLabel === INJECT_DISABLED) return 'OptedOut'
  if (nsLabel === INJECT_DISABLED) return 'OptedOut'
  if (nsLabel === INJECT_ENABLED || podLabel === INJECT_ENABLED) return 'yes'
  return 'NotOptedIn'
}

/**
 * injectRequired decides whether a pod gets the sidecar, in Istio's order after one check of its
 * own: would the pod hand an app Tollgate's credentials (refused), opted in at all, already
 * injected (an attested sidecar, never just the annotation), can the pod take a sidecar, is there
 * exactly one ready tenant to serve it.
 */
export function injectRequired({ pod, namespace, tenants, attestor, operator }: DecisionInput): Decision {
  const tenantList = [...tenants]
  const attested = attestor.verify(pod, namespace.name) !== undefined
  const refusal = refusalOf(pod, protectedSecretsIn(namespace.name, tenantList, operator), attested)
  if (refusal) return { inject: false, ...refusal }
  const wants = wantsInjection(pod, namespace)
  if (wants !== 'yes') {
    return {
      inject: false,
      reason: wants,
      message:
        wants === 'OptedOut'
          ? `injection disabled by the ${LABELS.inject} label`
          : `namespace ${namespace.name} is not labelled ${LABELS.inject}=${INJECT_ENABLED}`,
    }
  }
  if (attested) {
    return { inject: false, reason: 'AlreadyInjected', message: 'the pod already carries a Tollgate sidecar' }
  }
  if (pod.spec?.hostNetwork) {
    return {
      inject: false,
      reason: 'HostNetwork',
      message: 'pods on the host network share its loopback, so the sidecar port would clash; not injected',
    }
  }
  if (sharesProcesses(pod)) {
    return {
      inject: false,
      reason: 'SharedProcesses',
      message:
        "the pod shares its process namespace (shareProcessNamespace or hostPID), so its containers could read the sidecar's memory; not injected",
    }
  }
  const names = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.name)
  if (names.includes(SIDECAR_CONTAINER)) {
    return {
      inject: false,
      reason: 'SidecarNameTaken',
      message: `the pod already has a container named ${SIDECAR_CONTAINER} that Tollgate did not inject (its ${ANNOTATIONS.injected} attestation is missing or does not match)`,
    }
  }
  const owners = tenantsOwning(tenantList, namespace)
  const [tenant, ...others] = owners
  if (!tenant) {
    return {
      inject: false,
      reason: 'NoTenant',
      message: `no Tenant lists namespace ${namespace.name} in spec.namespaces or selects it with spec.namespaceSelector (a selected namespace must also carry ${LABELS.tenant}=<tenant>)`,
    }
  }
  if (others.length > 0) {
    return {
      inject: false,
      reason: 'AmbiguousTenant',
      message: `namespace ${namespace.name} is claimed by several Tenants: ${owners.map((t) => t.metadata.name).join(', ')}`,
    }
  }
  if (!isTenantReady(tenant)) {
    return {
      inject: false,
      reason: 'TenantNotReady',
      message: `Tenant ${tenant.metadata.name} is not Ready, so its sidecar would have no config`,
    }
  }
  return { inject: true, tenant }
}
