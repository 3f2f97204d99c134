import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  type ObjectCache,
  type V1Namespace,
} from '@kubernetes/client-node'
import { type CredentialGrant, GROUP, type Tenant, VERSION } from '@tollgate/api'
import type { NamespaceInfo } from './tenant-ownership.ts'

/** InjectionSources is what the webhook reads from the cluster to decide: namespaces and tenants. */
export interface InjectionSources {
  namespace(name: string): Promise<NamespaceInfo | undefined>
  tenants(): Promise<Tenant[]>
}

type Cached<T extends KubernetesObject> = Informer<T> & ObjectCache<T>

/**
 * InformerSources keeps Tenants, Namespaces and CredentialGrants in watch-fed caches, so an
 * admission request or an exchange costs no API call for them. A namespace created a moment
 * before its first pod may not be in the cache yet; it is then read once from the API server.
 */
export class InformerSources implements InjectionSources {
  readonly #core: CoreV1Api
  readonly #tenants: Cached<KubernetesObject>
  readonly #namespaces: Cached<V1Namespace>
  readonly #grants: Cached<KubernetesObject>
  readonly #timers = new Set<NodeJS.Timeout>()
  #synced = false
  #stopped = false

  constructor(kc: KubeConfig) {
    this.#core = kc.makeApiClient(CoreV1Api)
    const custom = kc.makeApiClient(CustomObjectsApi)
    this.#tenants = makeInformer(
      kc,
      `/apis/${GROUP}/${VERSION}/tenants`,
      () =>
        custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: 'tenants' }) as Promise<
          KubernetesListObject<KubernetesObject>
        >,
    )
    this.#namespaces = makeInformer(kc, '/api/v1/namespaces', () => this.#core.listNamespace())
    this.#grants = makeInformer(
      kc,
      `/apis/${GROUP}/${VERSION}/credentialgrants`,
      () =>
        custom.listClusterCustomObject({
          group: GROUP,
          version: VERSION,
          plural: 'credentialgrants',
        }) as Promise<KubernetesListObject<KubernetesObject>>,
    )
    for (const informer of [this.#tenants, this.#namespaces, this.#grants]) {
      // client-node informers stop on a watch error; start again after a pause.
      informer.on('error', () => this.#restart(informer))
    }
  }

  /** start lists and begins watching; it resolves once both caches hold a full list. */
  async start() {
    await Promise.all([this.#tenants.start(), this.#namespaces.start(), this.#grants.start()])
    this.#synced = true
  }

  /** isSynced is true once the first lists arrived: before that the webhook does not answer ready. */
  isSynced() {
    return this.#synced
  }

  async stop() {
    this.#stopped = true
    for (const timer of this.#timers) clearTimeout(timer)
    await Promise.all([this.#tenants.stop(), this.#namespaces.stop(), this.#grants.stop()])
  }

  async namespace(name: string): Promise<NamespaceInfo | undefined> {
    let ns = this.#namespaces.get(name)
    if (!ns) {
      try {
        ns = await this.#core.readNamespace({ name })
      } catch (err) {
        // Not found: the API server will refuse the pod anyway. Anything else must not pass
        // for "not opted in": it becomes an InternalError skip, warned about and counted.
        if (err instanceof ApiException && err.code === 404) return undefined
        throw new Error(`read namespace ${name}`, { cause: err })
      }
    }
    return { name, labels: ns.metadata?.labels ?? {} }
  }

  async tenants(): Promise<Tenant[]> {
    if (!this.#synced) throw new Error('tenant cache not synced yet')
    // Custom objects come as plain JSON, exactly the Tenant shape.
    return this.#tenants.list() as unknown as Tenant[]
  }

  /** grants are the CredentialGrants of the cluster (custom objects come as plain JSON). */
  grants(): CredentialGrant[] {
    return this.#grants.list() as unknown as CredentialGrant[]
  }

  #restart(informer: Informer<KubernetesObject>) {
    if (this.#stopped) return
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      informer.start().catch(() => this.#restart(informer))
    }, 2_000)
    this.#timers.add(timer)
  }
}
