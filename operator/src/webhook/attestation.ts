import { createHmac, timingSafeEqual } from 'node:crypto'
import type { V1Container, V1Pod, V1Volume, V1VolumeMount } from '@kubernetes/client-node'
import { ANNOTATIONS } from '@tollgate/api'
import { parseInjectedRecord } from './injected-annotation.ts'
import { SIDECAR_CONTAINER } from './names.ts'

/** AttestedSidecar is what a valid attestation says about a pod. */
export interface AttestedSidecar {
  tenant: string
  sidecar: V1Container
}

/**
 * Attestor lets the operator recognise, from a stored pod, the sidecar its own webhook injected.
 * The `tollgate.dev/injected` record carries an HMAC (a key derived from the operator's seed) over
 * the pod's namespace, the tenant, and the parts of the sidecar container that decide what it
 * does and where it sends what it holds: image, command, args, env, volume mounts and the volumes
 * those mount. A pod author can copy the annotation but not forge it, and any change to those
 * parts (another image, a different exchange URL or Redis, an extra mount) breaks it. Fields the
 * API server defaults after admission are left out, and so is the one mount the ServiceAccount
 * admission plugin adds to every container after the webhook (see serviceAccountMount), so a stored
 * pod verifies as admitted.
 */
export class Attestor {
  readonly #key: Buffer

  constructor(key: Buffer) {
    this.#key = key
  }

  /** sign returns the attestation of the pod's sidecar for a tenant, once it is in the pod. */
  sign(pod: V1Pod, namespace: string, tenant: string): string {
    const parts = attestedParts(pod, namespace, tenant)
    if (!parts) throw new Error(`the pod has no ${SIDECAR_CONTAINER} init container to attest`)
    return this.#mac(parts)
  }

  /** verify returns the attested sidecar of a stored (or submitted) pod, or undefined. */
  verify(pod: V1Pod, namespace: string): AttestedSidecar | undefined {
    const record = parseInjectedRecord(pod.metadata?.annotations?.[ANNOTATIONS.injected])
    if (!record?.sig) return undefined
    const parts = attestedParts(pod, namespace, record.tenant)
    if (!parts) return undefined
    const want = Buffer.from(this.#mac(parts))
    const have = Buffer.from(record.sig)
    if (want.length !== have.length || !timingSafeEqual(want, have)) return undefined
    return { tenant: record.tenant, sidecar: sidecarOf(pod) as V1Container }
  }

  #mac(parts: unknown): string {
    return createHmac('sha256', this.#key).update(canonical(parts)).digest('base64url')
  }
}

/** sidecarOf is the pod's init container named tollgate-sidecar, if any. */
export const sidecarOf = (pod: V1Pod) => pod.spec?.initContainers?.find((c) => c.name === SIDECAR_CONTAINER)

/** SERVICE_ACCOUNT_MOUNT_PATH is where the ServiceAccount admission plugin mounts its token. */
export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount'

function attestedParts(pod: V1Pod, namespace: string, tenant: string): unknown {
  const c = sidecarOf(pod)
  if (!c) return undefined
  const podVolumes = pod.spec?.volumes ?? []
  const volumeMounts = (c.volumeMounts ?? []).filter((m) => !serviceAccountMount(m, podVolumes))
  const mounted = new Set(volumeMounts.map((m) => m.name))
  const volumes = podVolumes.filter((v) => mounted.has(v.name)).map(withoutDefaults)
  return {
    v: 2,
    namespace,
    tenant,
    sidecar: {
      image: c.image,
      command: c.command,
      args: c.args,
      env: c.env,
      envFrom: c.envFrom,
      restartPolicy: c.restartPolicy,
      volumeMounts,
    },
    volumes,
  }
}

/**
 * serviceAccountMount tells the mount the ServiceAccount admission plugin adds: re-run after the
 * webhook changed the pod, it mounts the pod's API token (`kube-api-access-*`: a projected token
 * for the API server's audience and the cluster CA) into every container, the sidecar included.
 * The sidecar never reads that path, and the app containers hold the same token, so leaving it out
 * grants nothing; any other volume at that path stays attested and breaks the signature.
 */
function serviceAccountMount(mount: V1VolumeMount, volumes: V1Volume[]): boolean {
  if (mount.mountPath !== SERVICE_ACCOUNT_MOUNT_PATH || !mount.name.startsWith('kube-api-access-'))
    return false
  const sources = volumes.find((v) => v.name === mount.name)?.projected?.sources ?? []
  return (
    sources.length > 0 &&
    sources.every(
      (s) =>
        (s.serviceAccountToken && !s.serviceAccountToken.audience) ||
        s.configMap?.name === 'kube-root-ca.crt' ||
        s.downwardAPI?.items?.every((i) => i.fieldRef?.fieldPath === 'metadata.namespace'),
    )
  )
}

/** withoutDefaults drops the volume fields the API server fills in when they are left out. */
function withoutDefaults(volume: V1Volume): unknown {
  const { projected, ...rest } = volume
  if (!projected) return rest
  const { defaultMode: _, ...sources } = projected
  return { ...rest, projected: sources }
}

/** canonical is JSON with sorted keys and without empty values, so equal content hashes alike. */
function canonical(value: unknown): string {
  const clean = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.length === 0 ? undefined : v.map(clean)
    if (v && typeof v === 'object') {
      const entries = Object.entries(v)
        .map(([k, x]) => [k, clean(x)] as const)
        .filter(([, x]) => x !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      return entries.length === 0 ? undefined : Object.fromEntries(entries)
    }
    return v === null ? undefined : v
  }
  return JSON.stringify(clean(value) ?? null)
}
