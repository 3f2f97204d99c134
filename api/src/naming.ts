/** Labels and annotations Tollgate reads or writes. */
export const LABELS = {
  /** On a namespace or pod: `enabled` opts into sidecar injection; on a pod `disabled` opts out. */
  inject: 'tollgate.dev/inject',
  /** On objects the operator creates for a tenant (mirrored Secrets) and on injected pods. */
  tenant: 'tollgate.dev/tenant',
  managedBy: 'app.kubernetes.io/managed-by',
} as const

export const ANNOTATIONS = {
  /** On a pod: JSON record of what the webhook injected (and the hash of its inputs). */
  injected: 'tollgate.dev/injected',
  /** On a Tenant: any new value purges the tenant's cache (bumps the cache generation). */
  cachePurge: 'tollgate.dev/cache-purge',
} as const

/** CREDENTIALS_DIR is where the sidecar finds provider keys: the file `<dir>/<provider name>` holds the key. */
export const CREDENTIALS_DIR = '/var/run/tollgate/credentials'

/** SIDECAR_PORTS are fixed: apps reach the proxy on loopback, probes hit the admin port. */
export const SIDECAR_PORTS = { proxy: 4141, admin: 4142 } as const

/**
 * mirroredSecretName is the name of the copy of a provider's Secret that the operator keeps in
 * each of the tenant's namespaces, for the webhook to mount into the sidecar.
 */
export const mirroredSecretName = (tenant: string, provider: string) =>
  `tollgate-${tenant}-${provider}`.slice(0, 253)
