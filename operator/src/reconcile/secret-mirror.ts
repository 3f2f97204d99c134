import type { V1Secret } from '@kubernetes/client-node'
import { API_VERSION, LABELS, mirroredSecretName, type Tenant } from '@tollgate/api'

/** MANAGED_BY is the app.kubernetes.io/managed-by value on objects the operator owns. */
export const MANAGED_BY = 'tollgate-operator'
/** SOURCE_ANNOTATION records where a mirrored Secret's value comes from (namespace/name/key). */
export const SOURCE_ANNOTATION = 'tollgate.dev/source'

/** MirrorPlan is the set of mirrored Secrets a tenant should have, and what stands in the way. */
export interface MirrorPlan {
  desired: V1Secret[]
  /** Providers whose source Secret or key is missing: their existing mirrors are left alone. */
  problems: string[]
  /** Names of mirrors kept as they are because their source is missing. */
  keep: Set<string>
}

/**
 * planMirrors computes the mirrored Secrets of a tenant: for each provider with a
 * credentialsSecretRef and each namespace of the tenant, a Secret `tollgate-<tenant>-<provider>`
 * whose only key is the provider name (so a projected volume of all of them yields
 * `<CREDENTIALS_DIR>/<provider>`), labelled with the tenant and owned by the Tenant.
 */
export function planMirrors(
  tenant: Tenant,
  namespaces: string[],
  getSecret: (namespace: string, name: string) => V1Secret | undefined,
): MirrorPlan {
  const desired: V1Secret[] = []
  const problems: string[] = []
  const keep = new Set<string>()
  const owner = {
    apiVersion: API_VERSION,
    kind: 'Tenant',
    name: tenant.metadata.name,
    uid: tenant.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: false,
  }
  for (const provider of tenant.spec.providers) {
    const ref = provider.credentialsSecretRef
    if (!ref) continue
    const name = mirroredSecretName(tenant.metadata.name, provider.name)
    const source = getSecret(ref.namespace, ref.name)
    const value = source?.data?.[ref.key]
    if (!source || value === undefined) {
      problems.push(
        source
          ? `key ${JSON.stringify(ref.key)} not found in Secret ${ref.namespace}/${ref.name} (provider ${provider.name})`
          : `Secret ${ref.namespace}/${ref.name} not found (provider ${provider.name})`,
      )
      keep.add(name)
      continue
    }
    for (const namespace of namespaces) {
      desired.push({
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: {
          name,
          namespace,
          labels: { [LABELS.tenant]: tenant.metadata.name, [LABELS.managedBy]: MANAGED_BY },
          annotations: { [SOURCE_ANNOTATION]: `${ref.namespace}/${ref.name}/${ref.key}` },
          ownerReferences: [owner],
        },
        data: { [provider.name]: value },
      })
    }
  }
  return { desired, problems, keep }
}

/** mirrorDiffers reports whether an existing mirror must be rewritten to match the desired one. */
export function mirrorDiffers(existing: V1Secret, desired: V1Secret): boolean {
  const same = (a: unknown, b: unknown) => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b))
  const labels = existing.metadata?.labels ?? {}
  const wantLabels = desired.metadata?.labels ?? {}
  const labelsOk = Object.entries(wantLabels).every(([k, v]) => labels[k] === v)
  const annotationsOk = Object.entries(desired.metadata?.annotations ?? {}).every(
    ([k, v]) => existing.metadata?.annotations?.[k] === v,
  )
  const ownerOk = (existing.metadata?.ownerReferences ?? []).some(
    (o) => o.uid === desired.metadata?.ownerReferences?.[0]?.uid,
  )
  return !(
    labelsOk &&
    annotationsOk &&
    ownerOk &&
    same(existing.data ?? {}, desired.data ?? {}) &&
    existing.type === desired.type
  )
}

function sortKeys(value: unknown): unknown {
  if (!value || typeof value !== 'object') return value
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)))
}
