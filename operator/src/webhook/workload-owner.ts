import type { AppsV1Api, BatchV1Api, V1ObjectMeta, V1OwnerReference, V1Pod } from '@kubernetes/client-node'
import { workloadName } from '@tollgate/api'

/** controllerOf is the owner reference marked `controller: true`, if any. */
const controllerOf = (meta: V1ObjectMeta | undefined): V1OwnerReference | undefined =>
  meta?.ownerReferences?.find((r) => r.controller === true)

/**
 * WorkloadOwner names the workload a pod belongs to, the usage's workload dimension: the
 * Deployment of its ReplicaSet, the CronJob of its Job, or its StatefulSet, DaemonSet or other
 * controller directly; `pod/<name>` for a pod no controller owns. The pod's own owner reference
 * is only where to look: the ReplicaSet or Job is read from the API and must carry the same uid,
 * so a pod cannot book its usage to another workload by naming it. When the lookup fails (gone,
 * no permission) the direct owner is named, as `replicaset/<name>` or `job/<name>`.
 */
export class WorkloadOwner {
  readonly #apps: AppsV1Api
  readonly #batch: BatchV1Api

  constructor(apps: AppsV1Api, batch: BatchV1Api) {
    this.#apps = apps
    this.#batch = batch
  }

  async of(pod: V1Pod, namespace: string): Promise<string> {
    const owner = controllerOf(pod.metadata)
    if (!owner) return workloadName('Pod', pod.metadata?.name || pod.metadata?.generateName || 'unnamed')
    const lookup =
      owner.kind === 'ReplicaSet' && owner.apiVersion === 'apps/v1'
        ? () => this.#apps.readNamespacedReplicaSet({ name: owner.name, namespace })
        : owner.kind === 'Job' && owner.apiVersion === 'batch/v1'
          ? () => this.#batch.readNamespacedJob({ name: owner.name, namespace })
          : undefined
    if (!lookup) return workloadName(owner.kind, owner.name)
    try {
      const parent = await lookup()
      const grand = parent.metadata?.uid === owner.uid ? controllerOf(parent.metadata) : undefined
      if (grand && (grand.kind === 'Deployment' || grand.kind === 'CronJob'))
        return workloadName(grand.kind, grand.name)
    } catch {
      // not readable: name the direct owner
    }
    return workloadName(owner.kind, owner.name)
  }
}
