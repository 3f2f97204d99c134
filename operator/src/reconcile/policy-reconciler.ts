import type { CustomObjectsApi } from '@kubernetes/client-node'
import { GROUP, type RateLimitPolicy, type Tenant, VERSION } from '@tollgate/api'
import type { Logger } from 'pino'
import type { Tables } from '../config/tables.ts'
import { ERROR_CODES, TollgateError } from '../errors.ts'
import type { ReconcileResult } from '../runtime/controller.ts'
import type { Informer } from '../runtime/informer.ts'
import { MERGE_PATCH } from '../runtime/kube.ts'
import type { ResourceStore } from '../store/resource-store.ts'
import { computePolicyStatus, policyTargetOutcomes } from './policy-status.ts'
import { statusEqual } from './tenant-status.ts'

export interface PolicyReconcilerDeps {
  tenants: Informer<Tenant>
  policies: Informer<RateLimitPolicy>
  custom: CustomObjectsApi
  resources: ResourceStore
  tables: Tables
  logger: Logger
}

const POLICIES = { group: GROUP, version: VERSION, plural: 'ratelimitpolicies' }

/**
 * RateLimitPolicyReconciler records a policy in Postgres and reports, per selected tenant,
 * whether it is in force or overridden (Accepted / Conflicted). Applying the policy is the
 * tenant reconciler's job: the operator re-queues every affected tenant when a policy changes.
 */
export class RateLimitPolicyReconciler {
  readonly #d: PolicyReconcilerDeps
  constructor(deps: PolicyReconcilerDeps) {
    this.#d = deps
  }

  reconcile = async (name: string): Promise<ReconcileResult> => {
    const d = this.#d
    const policy = d.policies.get(name)
    if (!policy) {
      await d.resources.markDeleted('RateLimitPolicy', name)
      return undefined
    }
    let databaseError: unknown
    try {
      await d.resources.upsertPolicy(policy)
    } catch (error) {
      databaseError = error
    }
    const tenants = d.tenants.list()
    const targets = policyTargetOutcomes(policy, tenants, d.policies.list(), d.tables)
    const known = new Set(tenants.map((t) => t.metadata.name))
    const missing = (policy.spec.targetRefs ?? []).map((r) => r.name).filter((n) => !known.has(n))
    const status = computePolicyStatus(
      policy.status,
      policy.metadata.generation ?? 0,
      targets,
      missing,
      new Date(),
    )
    if (!statusEqual(status, policy.status)) {
      await d.custom.patchClusterCustomObjectStatus({ ...POLICIES, name, body: { status } }, MERGE_PATCH)
    }
    if (databaseError)
      throw new TollgateError(ERROR_CODES.DATABASE_UNAVAILABLE, 'record policy', { cause: databaseError })
    return undefined
  }
}
