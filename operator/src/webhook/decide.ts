import type { V1Pod } from '@kubernetes/client-node'
import { ANNOTATIONS, LABELS, type Tenant } from '@tollgate/api'
import { INJECT_DISABLED, INJECT_ENABLED, SIDECAR_CONTAINER } from './names.ts'
import { isTenantReady, type NamespaceInfo, tenantsOwning } from './tenant-ownership.ts'

/**
 * SkipReason says why a pod was not injected. The first three are the ordinary case (the pod is
 * not Tollgate's business, or already has its sidecar); the others are pods that asked for a
 * sidecar and did not get one: they are warned about, counted, and denied under failurePolicy Fail.
 */
export type SkipReason =
  | 'NotOptedIn'
  | 'OptedOut'
  | 'AlreadyInjected'
  | 'NoTenant'
  | 'AmbiguousTenant'
  | 'TenantNotReady'
  | 'HostNetwork'
  | 'SidecarNameTaken'
  | 'InternalError'

/** isProblem is true for skips of pods that wanted a sidecar. */
export const isProblem = (reason: SkipReason) =>
  reason !== 'NotOptedIn' && reason !== 'OptedOut' && reason !== 'AlreadyInjected'

/** Decision is the outcome of injectRequired. */
export type Decision =
  | { inject: true; tenant: Tenant }
  | { inject: false; reason: SkipReason; message: string }

/** DecisionInput is everything injectRequired looks at. */
export interface DecisionInput {
  pod: V1Pod
  namespace: NamespaceInfo
  tenants: Iterable<Tenant>
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
 * injectRequired decides whether a pod gets the sidecar, in Istio's order: opted in at all,
 * already injected, can the pod take a sidecar, is there exactly one ready tenant to serve it.
 */
export function injectRequired({ pod, namespace, tenants }: DecisionInput): Decision {
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
  if (pod.metadata?.annotations?.[ANNOTATIONS.injected] !== undefined) {
    return { inject: false, reason: 'AlreadyInjected', message: 'the pod already carries a Tollgate sidecar' }
  }
  if (pod.spec?.hostNetwork) {
    return {
      inject: false,
      reason: 'HostNetwork',
      message: 'pods on the host network share its loopback, so the sidecar port would clash; not injected',
    }
  }
  const names = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.name)
  if (names.includes(SIDECAR_CONTAINER)) {
    return {
      inject: false,
      reason: 'SidecarNameTaken',
      message: `the pod already has a container named ${SIDECAR_CONTAINER} but no ${ANNOTATIONS.injected} annotation`,
    }
  }
  const owners = tenantsOwning(tenants, namespace)
  const [tenant, ...others] = owners
  if (!tenant) {
    return {
      inject: false,
      reason: 'NoTenant',
      message: `no Tenant lists namespace ${namespace.name} in spec.namespaces or selects it with spec.namespaceSelector`,
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
