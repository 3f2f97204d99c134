import type { V1Namespace, V1Secret } from '@kubernetes/client-node'
import { GROUP, type RateLimitPolicy, type Tenant, VERSION } from '@tollgate/api'
import type { Logger } from 'pino'
import type { BackoffOptions } from './runtime/backoff.ts'
import { Informer } from './runtime/informer.ts'
import { type KubeClients, type ListPage, listAll } from './runtime/kube.ts'
import type { OperatorMetrics } from './runtime/metrics.ts'

/** Informers are the caches the controllers read: the two CRDs, Secrets and Namespaces. */
export interface Informers {
  tenants: Informer<Tenant>
  policies: Informer<RateLimitPolicy>
  secrets: Informer<V1Secret>
  namespaces: Informer<V1Namespace>
}

export interface InformerSettings {
  kube: KubeClients
  resyncMs: number
  /** Label selector limiting which Tenants and RateLimitPolicies this operator manages. */
  selector?: string
  backoff: BackoffOptions
  logger: Logger
  metrics?: OperatorMetrics
}

/**
 * createInformers builds (does not start) the operator's informers. Secrets are watched
 * cluster-wide: the provider and alert Secrets a tenant names can be anywhere, and a change to
 * one must reach its tenants' mirrors at once.
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
    secrets: new Informer<V1Secret>({
      ...common,
      resource: 'secrets',
      list: () =>
        listAll<V1Secret>(
          (page) => kube.core.listSecretForAllNamespaces(page) as Promise<ListPage<V1Secret>>,
        ),
      watchPath: '/api/v1/secrets',
    }),
    namespaces: new Informer<V1Namespace>({
      ...common,
      resource: 'namespaces',
      list: () =>
        listAll<V1Namespace>((page) => kube.core.listNamespace(page) as Promise<ListPage<V1Namespace>>),
      watchPath: '/api/v1/namespaces',
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
