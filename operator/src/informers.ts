import type { V1Secret } from '@kubernetes/client-node'
import { type CredentialGrant, GROUP, type RateLimitPolicy, type Tenant, VERSION } from '@tollgate/api'
import type { Logger } from 'pino'
import type { BackoffOptions } from './runtime/backoff.ts'
import { Informer } from './runtime/informer.ts'
import { type KubeClients, type ListPage, listAll } from './runtime/kube.ts'
import type { OperatorMetrics } from './runtime/metrics.ts'

/**
 * Informers are the caches the controllers read: Tenants, RateLimitPolicies, CredentialGrants and
 * the Secrets of the operator's own namespace.
 */
export interface Informers {
  tenants: Informer<Tenant>
  policies: Informer<RateLimitPolicy>
  grants: Informer<CredentialGrant>
  secrets: Informer<V1Secret>
}

export interface InformerSettings {
  kube: KubeClients
  /** The operator's namespace, the only one whose Secrets are watched. */
  namespace: string
  resyncMs: number
  /** Label selector limiting which Tenants and RateLimitPolicies this operator manages. */
  selector?: string
  backoff: BackoffOptions
  logger: Logger
  metrics?: OperatorMetrics
}

/**
 * createInformers builds (does not start) the operator's informers. Secrets are watched in the
 * operator's namespace only, where provider keys live, so that a key created or changed there
 * reaches its tenants' status at once; the operator never lists the Secrets of other namespaces
 * (a granted Secret elsewhere is read by name, SecretReader).
 */
export function createInformers(s: InformerSettings): Informers {
  const { kube } = s
  const common = {
    watch: kube.watch,
    resyncMs: s.resyncMs,
    backoff: s.backoff,
    logger: s.logger,
    metrics: s.metrics,
  }
  const selector: Record<string, string> = s.selector ? { labelSelector: s.selector } : {}
  const custom =
    <T>(plural: string) =>
    () =>
      listAll<T>(
        (page) =>
          kube.custom.listClusterCustomObject({
            group: GROUP,
            version: VERSION,
            plural,
            ...selector,
            ...page,
          }) as Promise<ListPage<T>>,
      )
  return {
    tenants: new Informer<Tenant>({
      ...common,
      resource: 'tenants',
      list: custom<Tenant>('tenants'),
      watchPath: `/apis/${GROUP}/${VERSION}/tenants`,
      watchQuery: selector,
    }),
    policies: new Informer<RateLimitPolicy>({
      ...common,
      resource: 'ratelimitpolicies',
      list: custom<RateLimitPolicy>('ratelimitpolicies'),
      watchPath: `/apis/${GROUP}/${VERSION}/ratelimitpolicies`,
      watchQuery: selector,
    }),
    grants: new Informer<CredentialGrant>({
      ...common,
      resource: 'credentialgrants',
      list: () =>
        listAll<CredentialGrant>(
          (page) =>
            kube.custom.listClusterCustomObject({
              group: GROUP,
              version: VERSION,
              plural: 'credentialgrants',
              ...page,
            }) as Promise<ListPage<CredentialGrant>>,
        ),
      watchPath: `/apis/${GROUP}/${VERSION}/credentialgrants`,
    }),
    secrets: new Informer<V1Secret>({
      ...common,
      resource: 'secrets',
      list: () =>
        listAll<V1Secret>(
          (page) =>
            kube.core.listNamespacedSecret({ namespace: s.namespace, ...page }) as Promise<
              ListPage<V1Secret>
            >,
        ),
      watchPath: `/api/v1/namespaces/${s.namespace}/secrets`,
    }),
  }
}

/** startInformers starts them all and waits until each has listed once (or the signal aborts). */
export async function startInformers(informers: Informers, signal: AbortSignal): Promise<boolean> {
  const all = Object.values(informers) as Informer<never>[]
  for (const informer of all) informer.start()
  const aborted = new Promise<false>((resolve) =>
    signal.addEventListener('abort', () => resolve(false), { once: true }),
  )
  return Promise.race([Promise.all(all.map((i) => i.waitForSync())).then(() => true), aborted])
}

export async function stopInformers(informers: Informers): Promise<void> {
  await Promise.all((Object.values(informers) as Informer<never>[]).map((i) => i.stop()))
}
