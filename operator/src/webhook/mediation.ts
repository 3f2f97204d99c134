import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node'
import type { Tenant } from '@tollgate/api'
import type { Attestor } from './attestation.ts'
import { wantsInjection } from './decide.ts'
import { type NamespaceInfo, ownsNamespace } from './tenant-ownership.ts'

/** MEDIATED_CONDITION is the Tenant condition type that says whether every opted-in pod has a sidecar. */
export const MEDIATED_CONDITION = 'Mediated' as const

/** MediationStatus is what the tenant reconciler writes: `status.mediatedPods` and one condition. */
export interface MediationStatus {
  mediatedPods: number
  /** Opted-in running pods without the tenant's sidecar, as `namespace/name`, sorted. */
  unmediated: string[]
  condition: { type: typeof MEDIATED_CONDITION; status: 'True' | 'False'; reason: string; message: string }
}

const MAX_NAMED = 10

/**
 * mediationStatus counts the tenant's running pods that carry its sidecar (an attested one: the
 * `tollgate.dev/injected` annotation alone proves nothing), and names the running
 * pods of its namespaces that opted in (namespace or pod label) but run without one: created
 * while the webhook was down under failurePolicy Ignore, before the namespace was labelled, or
 * skipped for a reason the webhook warned about. Pods that opted out are not expected to be
 * mediated and do not make the condition False.
 */
export function mediationStatus(
  tenant: Tenant,
  namespaces: NamespaceInfo[],
  pods: V1Pod[],
  attestor: Attestor,
): MediationStatus {
  const owned = new Map(namespaces.filter((ns) => ownsNamespace(tenant, ns)).map((ns) => [ns.name, ns]))
  let mediatedPods = 0
  const unmediated: string[] = []
  for (const pod of pods) {
    const ns = owned.get(pod.metadata?.namespace ?? '')
    if (!ns || pod.status?.phase !== 'Running' || pod.metadata?.deletionTimestamp) continue
    if (attestor.verify(pod, ns.name)?.tenant === tenant.metadata.name) mediatedPods++
    else if (wantsInjection(pod, ns) === 'yes') unmediated.push(`${ns.name}/${pod.metadata?.name}`)
  }
  unmediated.sort()
  const named = unmediated.slice(0, MAX_NAMED).join(', ')
  const more = unmediated.length > MAX_NAMED ? ` and ${unmediated.length - MAX_NAMED} more` : ''
  const condition =
    unmediated.length === 0
      ? {
          type: MEDIATED_CONDITION,
          status: 'True' as const,
          reason: 'AllPodsMediated',
          message: `${mediatedPods} running pod(s) call through the Tollgate sidecar; none opted in without it`,
        }
      : {
          type: MEDIATED_CONDITION,
          status: 'False' as const,
          reason: 'UnmediatedPods',
          message: `${unmediated.length} running pod(s) opted in but have no Tollgate sidecar (recreate them to inject): ${named}${more}`,
        }
  return { mediatedPods, unmediated, condition }
}

/**
 * collectMediation reads the namespaces and their running pods from the API server and computes
 * the tenant's MediationStatus. It lists only the tenant's namespaces, one call each.
 */
export async function collectMediation(
  kc: KubeConfig,
  tenant: Tenant,
  attestor: Attestor,
): Promise<MediationStatus> {
  const core = kc.makeApiClient(CoreV1Api)
  const namespaces = (await core.listNamespace()).items
    .map((ns) => ({ name: ns.metadata?.name ?? '', labels: ns.metadata?.labels ?? {} }))
    .filter((ns) => ownsNamespace(tenant, ns))
  const pods: V1Pod[] = []
  for (const ns of namespaces) {
    const list = await core.listNamespacedPod({ namespace: ns.name, fieldSelector: 'status.phase=Running' })
    pods.push(...list.items)
  }
  return mediationStatus(tenant, namespaces, pods, attestor)
}
