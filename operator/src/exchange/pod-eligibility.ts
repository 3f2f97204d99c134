import type { V1Pod } from '@kubernetes/client-node'
import type { Attestor } from '../webhook/attestation.ts'
import { refusalOf, sharesProcesses } from '../webhook/pod-refusals.ts'

/** BoundPod is what the reviewed token says about the pod it was issued for. */
export interface BoundPod {
  namespace: string
  name: string
  uid: string
  serviceAccount: string
}

/**
 * ineligibility says why a pod may not have its tenant's credentials, or undefined when it may:
 * it must be the very pod the token is bound to (uid and ServiceAccount), be alive, carry the
 * sidecar this operator's webhook injected for that tenant (attestation, never the bare
 * annotation), keep the tollgate.dev token in that sidecar alone, and not share its processes
 * with the other containers (which could then read the sidecar's memory).
 */
export function ineligibility(
  pod: V1Pod,
  bound: BoundPod,
  tenant: string,
  attestor: Attestor,
): string | undefined {
  const where = `pod ${bound.namespace}/${bound.name}`
  if (pod.metadata?.uid !== bound.uid) return `${where} is not the pod the token was issued for`
  if ((pod.spec?.serviceAccountName ?? 'default') !== bound.serviceAccount)
    return `${where} does not run as ServiceAccount ${bound.serviceAccount}`
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return `${where} has finished`
  const attested = attestor.verify(pod, bound.namespace)
  if (!attested) return `${where} has no sidecar injected by Tollgate`
  if (attested.tenant !== tenant)
    return `${where} was injected for tenant ${attested.tenant}, but its namespace belongs to ${tenant}`
  if (sharesProcesses(pod)) return `${where} shares its process namespace with the sidecar`
  const refusal = refusalOf(pod, new Set(), true)
  if (refusal) return `${where}: ${refusal.message}`
  return undefined
}
