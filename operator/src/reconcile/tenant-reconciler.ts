import type { CustomObjectsApi } from '@kubernetes/client-node'
import {
  ANNOTATIONS,
  API_VERSION,
  type CredentialGrant,
  compileTenantConfig,
  FINALIZER,
  GROUP,
  type RateLimitPolicy,
  type Tenant,
  type TenantStatus,
  VERSION,
} from '@tollgate/api'
import type { Logger } from 'pino'
import type { Tables } from '../config/tables.ts'
import type { SecretReader } from '../credentials/secret-reader.ts'
import { isPermitted, referenceProblems, secretReferences } from '../credentials/secret-references.ts'
import { ERROR_CODES, hasCode, TollgateError } from '../errors.ts'
import type { ConfigStore } from '../redis/config-store.ts'
import type { TenantAclUsers } from '../redis/tenant-acl-users.ts'
import type { ReconcileResult } from '../runtime/controller.ts'
import type { Informer } from '../runtime/informer.ts'
import { isNotFound, MERGE_PATCH } from '../runtime/kube.ts'
import type { OperatorMetrics } from '../runtime/metrics.ts'
import type { ResourceStore } from '../store/resource-store.ts'
import type { TenantUsage } from '../usage/budget-state.ts'
import { exhaustedPeriods, usageFromStatus } from '../usage/budget-state.ts'
import type { UsageState } from '../usage/usage-state.ts'
import type { EventRecorder } from './events.ts'
import { computeTenantStatus, statusEqual, type TenantObservation } from './tenant-status.ts'

export interface TenantReconcilerDeps {
  tenants: Informer<Tenant>
  policies: Informer<RateLimitPolicy>
  grants: Informer<CredentialGrant>
  custom: CustomObjectsApi
  configs: ConfigStore
  acl: TenantAclUsers
  secrets: SecretReader
  /** The operator's namespace: Tenants may reference its Secrets without a CredentialGrant. */
  namespace: string
  resources: ResourceStore
  tables: Tables
  usage: UsageState
  events: EventRecorder
  /** Reads a tenant's usage from the ledger the first time it is seen; throws when it cannot. */
  loadUsage: (tenant: Tenant) => Promise<TenantUsage>
  /** Writes the tenant's unflushed usage counters to the ledger; throws when it cannot. */
  flushUsage: (tenant: string) => Promise<unknown>
  logger: Logger
  metrics?: OperatorMetrics
}

const TENANTS = { group: GROUP, version: VERSION, plural: 'tenants' }

/**
 * TenantReconciler: get (gone: clean up) → finalizer → compile (pure) → Redis (signed,
 * versioned, published) → Postgres → the tenant's Redis ACL user → Secret references (permitted,
 * present) → status (on a copy, written when changed) → Events. A spec that does not compile, a
 * reference without a grant or a missing Secret is a condition, not a retry loop; Redis and API
 * failures throw so the queue retries with backoff; a Postgres outage is a condition and a retry,
 * while the config keeps flowing to Redis. It asks to run again when the ACL passwords rotate.
 */
export class TenantReconciler {
  readonly #d: TenantReconcilerDeps
  /**
   * Own writes per tenant: the resourceVersions our own patches produced and the status we last
   * wrote. While the cache shows one of those versions, nobody else changed the object, so a
   * status equal to the one we wrote is not written again just because the cache lags behind.
   */
  readonly #own = new Map<string, { versions: Set<string>; status?: TenantStatus }>()
  constructor(deps: TenantReconcilerDeps) {
    this.#d = deps
  }

  reconcile = async (name: string): Promise<ReconcileResult> => {
    const d = this.#d
    const tenant = d.tenants.get(name)
    if (!tenant) {
      // Gone from the cache can also mean "no longer matches --selector": only a Tenant the API
      // server no longer has is cleaned up.
      if (await this.#stillExists(name)) return undefined
      await this.cleanUp(name)
      return undefined
    }
    if (tenant.metadata.deletionTimestamp) {
      if (tenant.metadata.finalizers?.includes(FINALIZER)) {
        await this.cleanUp(name)
        await this.#setFinalizers(
          tenant,
          (tenant.metadata.finalizers ?? []).filter((f) => f !== FINALIZER),
        )
        d.logger.info({ tenant: name }, 'tenant deleted: cleaned up and released')
      }
      return undefined
    }
    if (!tenant.metadata.finalizers?.includes(FINALIZER)) {
      await this.#setFinalizers(tenant, [...(tenant.metadata.finalizers ?? []), FINALIZER])
    }

    const now = new Date()
    // Usage comes from the usage loop. Before its first round: from the last status when that
    // covers the current periods (a restart), else from the ledger (a new tenant, so its first
    // status carries the spend), else, with Postgres away, from whatever the status says.
    const usage =
      d.usage.get(name) ??
      usageFromStatus(tenant.status?.usage, tenant.spec.budgets, now, { complete: true }) ??
      (await d.loadUsage(tenant).catch(() => undefined)) ??
      usageFromStatus(tenant.status?.usage, tenant.spec.budgets, now)
    const target = { apiVersion: API_VERSION, kind: 'Tenant', name, uid: tenant.metadata.uid }
    const observation: TenantObservation = {
      generation: tenant.metadata.generation ?? 0,
      suspended: tenant.spec.suspended ?? false,
      secretProblems: [],
      referenceProblems: [],
      appliedPolicies: [],
      ...(usage && { usage }),
    }

    let transient: unknown
    let rotateInMs: number | undefined
    try {
      const generation = await d.configs.cacheGeneration(
        name,
        tenant.metadata.annotations?.[ANNOTATIONS.cachePurge],
      )
      let compiled: ReturnType<typeof compileTenantConfig> | undefined
      try {
        compiled = compileTenantConfig({
          tenant,
          policies: d.policies.list(),
          tiers: d.tables.tiers,
          prices: d.tables.prices,
          version: 0,
          cacheGeneration: generation,
          ...(usage && { exhausted: exhaustedPeriods(usage) }),
        })
      } catch (error) {
        // compile is pure: the same spec fails the same way, so retrying cannot help.
        observation.invalidSpec = (error as Error).message
        void d.events.event(target, 'Warning', 'InvalidSpec', observation.invalidSpec)
      }
      if (compiled) {
        observation.appliedPolicies = compiled.outcomes.map((o) => o.policy)
        const write = await d.configs.writeConfig(compiled.config)
        observation.configVersion = write.version
        d.metrics?.configWrites.inc({ result: write.written ? 'written' : 'unchanged' })
        if (write.written) {
          d.logger.info({ tenant: name, version: write.version }, 'config written')
          void d.events.event(
            target,
            'Normal',
            'ConfigUpdated',
            `config version ${write.version} published to sidecars`,
          )
        }
        try {
          await d.resources.upsertTenant(tenant, { version: write.version, hash: compiled.config.hash })
        } catch (error) {
          observation.databaseError = (error as Error).message
          transient = error
        }
      }
      rotateInMs = (await d.acl.ensure(name, now)).rotateInMs
      observation.referenceProblems = referenceProblems(tenant, d.namespace, d.grants.list())
      observation.secretProblems = await this.#missingSecrets(tenant)
      if (observation.referenceProblems.length > 0)
        void d.events.event(
          target,
          'Warning',
          'ReferenceNotPermitted',
          observation.referenceProblems.join('; '),
        )
      if (observation.secretProblems.length > 0)
        void d.events.event(target, 'Warning', 'SecretNotFound', observation.secretProblems.join('; '))
    } catch (error) {
      if (hasCode(error, ERROR_CODES.DATABASE_UNAVAILABLE)) throw error
      if (isRedisError(error)) {
        observation.redisError = (error as Error).message
        await this.#writeStatus(tenant, observation, now)
      }
      throw error
    }
    await this.#writeStatus(tenant, observation, now)
    if (transient)
      throw new TollgateError(ERROR_CODES.DATABASE_UNAVAILABLE, 'record tenant', { cause: transient })
    // A second late, so the clock is surely in the next epoch when the passwords are rewritten.
    return rotateInMs === undefined ? undefined : { requeueAfterMs: rotateInMs + 1_000 }
  }

  /**
   * #missingSecrets names each permitted reference whose Secret or key is absent (references
   * without a grant are never read: they are reported as such).
   */
  async #missingSecrets(tenant: Tenant): Promise<string[]> {
    const d = this.#d
    const problems: string[] = []
    for (const ref of secretReferences(tenant)) {
      if (!isPermitted(tenant.metadata.name, ref, d.namespace, d.grants.list())) continue
      const secret = await d.secrets.read(ref.namespace, ref.name)
      const what = ref.provider ? `provider ${ref.provider}` : 'alerts'
      if (!secret) problems.push(`Secret ${ref.namespace}/${ref.name} not found (${what})`)
      else if (secret.data?.[ref.key] === undefined)
        problems.push(
          `key ${JSON.stringify(ref.key)} not found in Secret ${ref.namespace}/${ref.name} (${what})`,
        )
    }
    return problems
  }

  /**
   * cleanUp removes what the tenant left behind: first its last usage goes into the ledger (so
   * while Postgres is down deletion waits rather than lose usage), then its Redis keys, its Redis
   * user (which closes its sidecars' connections) and usage state go, and it is marked deleted in
   * Postgres. Idempotent; a failure anywhere retries the whole clean-up.
   */
  async cleanUp(name: string): Promise<void> {
    const d = this.#d
    await d.flushUsage(name)
    await d.configs.deleteTenant(name)
    await d.acl.remove(name)
    d.usage.delete(name)
    this.#own.delete(name)
    await d.resources.markDeleted('Tenant', name)
  }

  async #stillExists(name: string): Promise<boolean> {
    try {
      await this.#d.custom.getClusterCustomObject({ ...TENANTS, name })
      return true
    } catch (error) {
      if (isNotFound(error)) return false
      throw error
    }
  }

  async #setFinalizers(tenant: Tenant, finalizers: string[]): Promise<void> {
    // resourceVersion makes the patch conditional: a concurrent change is a conflict and a retry.
    const patched: Tenant = await this.#d.custom.patchClusterCustomObject(
      {
        ...TENANTS,
        name: tenant.metadata.name,
        body: { metadata: { finalizers, resourceVersion: tenant.metadata.resourceVersion } },
      },
      MERGE_PATCH,
    )
    const own = { versions: new Set<string>(), ...this.#own.get(tenant.metadata.name) }
    if (patched.metadata?.resourceVersion) own.versions.add(patched.metadata.resourceVersion)
    this.#own.set(tenant.metadata.name, own)
  }

  async #writeStatus(tenant: Tenant, observation: TenantObservation, now: Date): Promise<void> {
    const name = tenant.metadata.name
    const own = this.#own.get(name)
    // The cache may not show our last status write yet; when it shows a version we produced,
    // what we wrote is the current status.
    const base =
      own?.status && own.versions.has(tenant.metadata.resourceVersion ?? '') ? own.status : tenant.status
    const status = computeTenantStatus(base, observation, now)
    if (statusEqual(status, base)) return
    const patched: Tenant = await this.#d.custom.patchClusterCustomObjectStatus(
      { ...TENANTS, name, body: { status } },
      MERGE_PATCH,
    )
    const versions = new Set([...(own?.versions ?? [])].slice(-6))
    versions.add(tenant.metadata.resourceVersion ?? '')
    if (patched.metadata?.resourceVersion) versions.add(patched.metadata.resourceVersion)
    this.#own.set(name, { versions, status })
  }
}

function isRedisError(error: unknown): boolean {
  const name = (error as Error)?.name ?? ''
  const message = (error as Error)?.message ?? ''
  return (
    /Redis|ReplyError|MaxRetriesPerRequest/.test(name) ||
    /Connection is closed|ECONNREFUSED|Stream isn't writeable|enableOfflineQueue/.test(message)
  )
}
