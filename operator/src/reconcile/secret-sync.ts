import type { CoreV1Api, V1Secret } from '@kubernetes/client-node'
import { LABELS } from '@tollgate/api'
import { isConflict, isNotFound } from '../runtime/kube.ts'
import { type MirrorPlan, mirrorDiffers } from './secret-mirror.ts'

/**
 * applyMirrors makes the cluster match a mirror plan: create missing mirrors, rewrite changed
 * ones (with their resourceVersion, so a concurrent change is a retried conflict), delete mirrors
 * of the tenant that are no longer wanted. `existing` lists the tenant's mirrors (by label).
 * There is no garbage collector to count on, so deletion is explicit.
 */
export async function applyMirrors(
  core: CoreV1Api,
  plan: MirrorPlan,
  existing: readonly V1Secret[],
  get: (namespace: string, name: string) => V1Secret | undefined,
): Promise<{ created: number; updated: number; deleted: number }> {
  let created = 0
  let updated = 0
  let deleted = 0
  const wanted = new Set<string>()
  for (const secret of plan.desired) {
    const { name = '', namespace = '' } = secret.metadata ?? {}
    wanted.add(`${namespace}/${name}`)
    const current = get(namespace, name)
    if (!current) {
      try {
        await core.createNamespacedSecret({ namespace, body: secret })
        created++
      } catch (error) {
        if (!isConflict(error)) throw new Error(`create Secret ${namespace}/${name}`, { cause: error })
        // Exists but not in the cache yet: the informer event brings us back to compare.
      }
      continue
    }
    if (!mirrorDiffers(current, secret)) continue
    if (
      current.metadata?.labels?.[LABELS.tenant] !== secret.metadata?.labels?.[LABELS.tenant] &&
      current.metadata?.labels?.[LABELS.tenant] !== undefined
    )
      throw new Error(`Secret ${namespace}/${name} belongs to another tenant`)
    await core.replaceNamespacedSecret({
      name,
      namespace,
      body: {
        ...secret,
        metadata: {
          ...secret.metadata,
          resourceVersion: current.metadata?.resourceVersion,
          labels: { ...current.metadata?.labels, ...secret.metadata?.labels },
          annotations: { ...current.metadata?.annotations, ...secret.metadata?.annotations },
        },
      },
    })
    updated++
  }
  for (const secret of existing) {
    const { name = '', namespace = '' } = secret.metadata ?? {}
    if (wanted.has(`${namespace}/${name}`) || plan.keep.has(name)) continue
    await deleteSecret(core, namespace, name)
    deleted++
  }
  return { created, updated, deleted }
}

/** deleteSecret deletes a Secret; one already gone is fine. */
export async function deleteSecret(core: CoreV1Api, namespace: string, name: string): Promise<void> {
  try {
    await core.deleteNamespacedSecret({ name, namespace })
  } catch (error) {
    if (!isNotFound(error)) throw new Error(`delete Secret ${namespace}/${name}`, { cause: error })
  }
}
