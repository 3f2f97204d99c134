import type { CustomObjectsApi } from '@kubernetes/client-node'
import { ANNOTATIONS, GROUP, type Tenant, VERSION } from '@tollgate/api'
import type { AccessReview } from '../auth/access-review.ts'
import type { ReviewedUser } from '../auth/token-review.ts'
import { MERGE_PATCH } from '../runtime/kube.ts'

/** How long a listing of the tenants is reused: the console's pages and the API list often. */
const LIST_TTL_MS = 2_000

/**
 * TenantDirectory reads Tenants from the API server for the console and the analytics API (which
 * run on every replica, leader or not, so they use no informer of the leader's), and tells which
 * of them a user may see: all when RBAC lets the user `list` tenants, else those it may `get`,
 * each asked of the API server (SubjectAccessReview).
 */
export class TenantDirectory {
  readonly #custom: CustomObjectsApi
  readonly #access: AccessReview
  readonly #selector: string | undefined
  #cached: { at: number; tenants: Promise<Tenant[]> } | undefined

  constructor(custom: CustomObjectsApi, access: AccessReview, selector?: string) {
    this.#custom = custom
    this.#access = access
    this.#selector = selector
  }

  /** list is every Tenant the operator manages (its selector), by name. */
  list(now = Date.now()): Promise<Tenant[]> {
    if (this.#cached && now - this.#cached.at < LIST_TTL_MS) return this.#cached.tenants
    const tenants = (
      this.#custom.listClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: 'tenants',
        ...(this.#selector && { labelSelector: this.#selector }),
      }) as Promise<{ items: Tenant[] }>
    ).then((l) => l.items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)))
    this.#cached = { at: now, tenants }
    tenants.catch(() => {
      if (this.#cached?.tenants === tenants) this.#cached = undefined
    })
    return tenants
  }

  /** get is one Tenant, or undefined when the operator manages none of that name. */
  async get(name: string): Promise<Tenant | undefined> {
    return (await this.list()).find((t) => t.metadata.name === name)
  }

  /** visible are the tenants the user may read. */
  async visible(user: ReviewedUser): Promise<Tenant[]> {
    const tenants = await this.list()
    const all = await this.#access.authorize(user, {
      resource: { group: GROUP, resource: 'tenants', verb: 'list' },
    })
    if (all.allowed) return tenants
    const allowed = await Promise.all(tenants.map((t) => this.may(user, 'get', t.metadata.name)))
    return tenants.filter((_, i) => allowed[i])
  }

  /** may tells whether the user may `verb` the tenant (get: read its usage; patch: purge its cache). */
  async may(user: ReviewedUser, verb: 'get' | 'patch', tenant: string): Promise<boolean> {
    const decision = await this.#access.authorize(user, {
      resource: { group: GROUP, resource: 'tenants', verb, name: tenant },
    })
    return decision.allowed
  }

  /**
   * purgeCache sets the tenant's `tollgate.dev/cache-purge` annotation to a new value (the time and
   * who asked), which makes the reconciler bump its cache generation. The caller has checked with
   * `may(user, 'patch', tenant)` that the user could have patched the Tenant itself.
   */
  async purgeCache(tenant: string, user: ReviewedUser, now = new Date()): Promise<string> {
    const value = `${now.toISOString()} by ${user.username}`
    await this.#custom.patchClusterCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural: 'tenants',
        name: tenant,
        body: { metadata: { annotations: { [ANNOTATIONS.cachePurge]: value } } },
      },
      MERGE_PATCH,
    )
    this.#cached = undefined
    return value
  }
}
