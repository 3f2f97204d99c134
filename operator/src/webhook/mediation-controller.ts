import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node'
import { type Condition, GROUP, type Tenant, VERSION } from '@tollgate/api'
import type { Logger } from './admission-handler.ts'
import type { Attestor } from './attestation.ts'
import type { BudgetMetrics } from './budget-metrics.ts'
import { MEDIATED_CONDITION, type MediationStatus, mediationStatus } from './mediation.ts'

const TENANTS = { group: GROUP, version: VERSION, plural: 'tenants' }
const JSON_PATCH = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)

/** MediationControllerOptions configures the loop that owns `status.mediatedPods` and `Mediated`. */
export interface MediationControllerOptions {
  kc: KubeConfig
  /** Tells the sidecars the webhook injected from look-alikes. */
  attestor: Attestor
  logger: Logger
  /** How often every tenant is counted; pods come and go without touching the Tenant. */
  intervalMs?: number
  /** Only Tenants whose labels match (the operator's `--selector`). */
  labelSelector?: string
  /** Also export the budget use of the Tenants it lists. */
  budgets?: BudgetMetrics
  now?: () => Date
}

/**
 * MediationController owns two parts of every Tenant's status, as cert-manager splits a
 * resource's status between small controllers: `mediatedPods` and the `Mediated` condition. Each
 * pass lists Tenants, Namespaces and running Pods (three calls for the whole cluster), computes
 * mediationStatus for every tenant and writes only the tenants whose part changed, with a JSON
 * patch that first tests the resourceVersion it read, so a concurrent status write by the
 * tenant reconciler is never overwritten with stale data (the next pass retries). Run it on the
 * leader only.
 */
export class MediationController {
  readonly #core: CoreV1Api
  readonly #custom: CustomObjectsApi
  readonly #opts: MediationControllerOptions
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined

  constructor(opts: MediationControllerOptions) {
    this.#opts = opts
    this.#core = opts.kc.makeApiClient(CoreV1Api)
    this.#custom = opts.kc.makeApiClient(CustomObjectsApi)
  }

  /** syncAll counts every tenant once and returns how many Tenant statuses it wrote. */
  async syncAll(): Promise<number> {
    const [tenantList, namespaceList, podList] = await Promise.all([
      this.#custom.listClusterCustomObject({
        ...TENANTS,
        ...(this.#opts.labelSelector && { labelSelector: this.#opts.labelSelector }),
      }) as Promise<{ items: Tenant[] }>,
      this.#core.listNamespace(),
      this.#core.listPodForAllNamespaces({ fieldSelector: 'status.phase=Running' }),
    ])
    const namespaces = namespaceList.items.map((ns) => ({
      name: ns.metadata?.name ?? '',
      labels: ns.metadata?.labels ?? {},
    }))
    this.#opts.budgets?.observe(tenantList.items)
    let written = 0
    for (const tenant of tenantList.items) {
      if (tenant.metadata.deletionTimestamp) continue
      const mediation = mediationStatus(tenant, namespaces, podList.items, this.#opts.attestor)
      if (await this.#write(tenant, mediation)) written++
    }
    return written
  }

  /** start runs syncAll now and then every intervalMs until stop(); failures are logged. */
  start() {
    const tick = () => {
      this.#running = this.syncAll()
        .then(() => undefined)
        .catch((err) => this.#opts.logger.warn({ err }, 'mediation count failed'))
        .finally(() => {
          if (this.#timer !== undefined) this.#timer = setTimeout(tick, this.#opts.intervalMs ?? 30_000)
        })
    }
    this.#timer = setTimeout(tick, 0)
  }

  async stop() {
    clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#running
  }

  async #write(tenant: Tenant, mediation: MediationStatus): Promise<boolean> {
    const current = tenant.status ?? {}
    const conditions = current.conditions ?? []
    const previous = conditions.find((c) => c.type === MEDIATED_CONDITION)
    const { condition } = mediation
    const sameCondition =
      previous?.status === condition.status &&
      previous.reason === condition.reason &&
      previous.message === condition.message &&
      previous.observedGeneration === tenant.metadata.generation
    if (current.mediatedPods === mediation.mediatedPods && sameCondition) return false
    const now = (this.#opts.now?.() ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z')
    const next: Condition = {
      ...condition,
      ...(tenant.metadata.generation !== undefined && { observedGeneration: tenant.metadata.generation }),
      lastTransitionTime:
        previous && previous.status === condition.status ? previous.lastTransitionTime : now,
    }
    const status = {
      ...current,
      mediatedPods: mediation.mediatedPods,
      conditions: [...conditions.filter((c) => c.type !== MEDIATED_CONDITION), next],
    }
    try {
      await this.#custom.patchClusterCustomObjectStatus(
        {
          ...TENANTS,
          name: tenant.metadata.name,
          body: [
            { op: 'test', path: '/metadata/resourceVersion', value: tenant.metadata.resourceVersion },
            { op: 'add', path: '/status', value: status },
          ],
        },
        JSON_PATCH,
      )
      return true
    } catch (err) {
      // 422: the Tenant changed since it was listed (the test failed); 404: it is gone. Next pass.
      if (err instanceof ApiException && (err.code === 422 || err.code === 404 || err.code === 409))
        return false
      throw new Error(`write mediation status of Tenant ${tenant.metadata.name}`, { cause: err })
    }
  }
}
