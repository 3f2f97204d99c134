import type { V1Container, V1Pod, V1Volume } from '@kubernetes/client-node'
import { EXCHANGE_AUDIENCE, type Tenant } from '@tollgate/api'
import { secretReferences } from '../credentials/secret-references.ts'
import { SIDECAR_CONTAINER, TOKEN_VOLUME } from './names.ts'

/** Refusal says why a pod is refused whatever the failure policy, and what to tell its author. */
export interface Refusal {
  reason: 'TokenAudienceMounted' | 'TollgateSecretMounted'
  message: string
}

const allContainers = (pod: V1Pod): V1Container[] => [
  ...(pod.spec?.initContainers ?? []),
  ...(pod.spec?.containers ?? []),
  ...((pod.spec?.ephemeralContainers ?? []) as V1Container[]),
]

const hasExchangeAudience = (volume: V1Volume) =>
  (volume.projected?.sources ?? []).some((s) => s.serviceAccountToken?.audience === EXCHANGE_AUDIENCE)

/** secretNames lists every Secret a pod reads: volumes, projected sources, env and envFrom. */
export function secretNames(pod: V1Pod): Set<string> {
  const names = new Set<string>()
  for (const v of pod.spec?.volumes ?? []) {
    if (v.secret?.secretName) names.add(v.secret.secretName)
    for (const s of v.projected?.sources ?? []) if (s.secret?.name) names.add(s.secret.name)
  }
  for (const c of allContainers(pod)) {
    for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef?.name) names.add(e.valueFrom.secretKeyRef.name)
    for (const f of c.envFrom ?? []) if (f.secretRef?.name) names.add(f.secretRef.name)
  }
  return names
}

/**
 * refusalOf refuses pods that would hand Tollgate's credentials to an app: a projected token of
 * audience tollgate.dev (it buys provider keys at the exchange) anywhere but in the injected
 * sidecar, or a Secret a Tenant holds its keys or alert URL in. `attested` is true for a pod whose
 * sidecar the webhook itself injected (a second pass): its own token volume is allowed there, as
 * long as no other container mounts it.
 */
export function refusalOf(
  pod: V1Pod,
  protectedSecrets: ReadonlySet<string>,
  attested: boolean,
): Refusal | undefined {
  for (const volume of pod.spec?.volumes ?? []) {
    if (!hasExchangeAudience(volume)) continue
    if (attested && volume.name === TOKEN_VOLUME) continue
    return {
      reason: 'TokenAudienceMounted',
      message: `volume ${volume.name} projects a ServiceAccount token of audience ${EXCHANGE_AUDIENCE}; only the Tollgate sidecar may hold one`,
    }
  }
  for (const c of allContainers(pod)) {
    if (c.name === SIDECAR_CONTAINER && attested) continue
    if ((c.volumeMounts ?? []).some((m) => m.name === TOKEN_VOLUME))
      return {
        reason: 'TokenAudienceMounted',
        message: `container ${c.name} mounts ${TOKEN_VOLUME}; only the Tollgate sidecar may`,
      }
  }
  const taken = [...secretNames(pod)].filter((n) => protectedSecrets.has(n)).sort()
  if (taken.length > 0)
    return {
      reason: 'TollgateSecretMounted',
      message: `the pod reads Secret ${taken.join(', ')}, which holds a Tenant's provider key or alert URL; only the operator may read it`,
    }
  return undefined
}

/** sharesProcesses is true when another container could read the sidecar's memory or files. */
export const sharesProcesses = (pod: V1Pod) =>
  pod.spec?.shareProcessNamespace === true || pod.spec?.hostPID === true

/** OperatorSecrets are the operator's namespace and its own Secrets there (keys, certificate). */
export interface OperatorSecrets {
  namespace: string
  names: string[]
}

/**
 * protectedSecretsIn are the Secrets of a namespace no pod may read: those Tenants reference for
 * provider keys or alert URLs, and in the operator's own namespace its keys and certificate.
 */
export function protectedSecretsIn(
  namespace: string,
  tenants: Iterable<Tenant>,
  operator: OperatorSecrets,
): Set<string> {
  const names = new Set(namespace === operator.namespace ? operator.names : [])
  for (const tenant of tenants)
    for (const ref of secretReferences(tenant)) if (ref.namespace === namespace) names.add(ref.name)
  return names
}
