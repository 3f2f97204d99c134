/** Labels and annotations Tollgate reads or writes. */
export const LABELS = {
  /** On a namespace or pod: `enabled` opts into sidecar injection; on a pod `disabled` opts out. */
  inject: 'tollgate.dev/inject',
  /**
   * On injected pods (informational: set by the webhook, never trusted), and on a namespace: the
   * tenant a `namespaceSelector` may claim it for.
   */
  tenant: 'tollgate.dev/tenant',
  managedBy: 'app.kubernetes.io/managed-by',
} as const

export const ANNOTATIONS = {
  /** On a pod: JSON record of what the webhook injected (and the hash of its inputs). */
  injected: 'tollgate.dev/injected',
  /** On a Tenant: any new value purges the tenant's cache (bumps the cache generation). */
  cachePurge: 'tollgate.dev/cache-purge',
} as const

/** SIDECAR_PORTS are fixed: apps reach the proxy on loopback, probes hit the admin port. */
export const SIDECAR_PORTS = { proxy: 4141, admin: 4142 } as const
