import { AppsV1Api, type KubeConfig, type V1OwnerReference } from '@kubernetes/client-node'

/**
 * readDeploymentOwner is an owner reference to the Deployment `name` in `namespace`: the objects the
 * operator creates for itself there (its leader Lease, the webhook certificate Secret) carry it, so
 * that the garbage collector deletes them once the Deployment is gone, by `helm uninstall` say. An
 * object written after that, by a replica still shutting down, has a missing owner and goes too.
 * No blockOwnerDeletion: that would need update rights on the Deployment's finalizers.
 */
export async function readDeploymentOwner(
  kc: KubeConfig,
  namespace: string,
  name: string,
): Promise<V1OwnerReference> {
  const deployment = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name, namespace })
  const uid = deployment.metadata?.uid
  if (!uid) throw new Error(`deployment ${namespace}/${name} has no uid`)
  return { apiVersion: 'apps/v1', kind: 'Deployment', name, uid }
}
