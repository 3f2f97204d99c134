import {
  compileTenantConfig,
  type PolicyOutcome,
  policyTargets,
  type RateLimitPolicy,
  type RateLimitPolicyStatus,
  type Tenant,
} from '@tollgate/api'
import type { Tables } from '../config/tables.ts'
import { setCondition } from './conditions.ts'

/** PolicyTargetStatus is one entry of RateLimitPolicy.status.targets. */
export interface PolicyTargetStatus {
  name: string
  accepted: boolean
  reason: string
  message?: string
}

/**
 * policyTargetOutcomes says how a policy applies to each tenant it selects, by compiling each
 * such tenant with every policy (pure) and reading this policy's outcome. A tenant whose spec
 * does not compile is reported as such rather than hiding the policy's state.
 */
export function policyTargetOutcomes(
  policy: RateLimitPolicy,
  tenants: readonly Tenant[],
  policies: readonly RateLimitPolicy[],
  tables: Tables,
): PolicyTargetStatus[] {
  const targets: PolicyTargetStatus[] = []
  for (const tenant of tenants) {
    if (tenant.metadata.deletionTimestamp || !policyTargets(policy, tenant)) continue
    let outcome: PolicyOutcome | undefined
    try {
      outcome = compileTenantConfig({
        tenant,
        policies: [...policies],
        tiers: tables.tiers,
        prices: tables.prices,
        version: 0,
      }).outcomes.find((o) => o.policy === policy.metadata.name)
    } catch (error) {
      targets.push({
        name: tenant.metadata.name,
        accepted: false,
        reason: 'TenantInvalid',
        message: `the tenant's spec does not compile: ${(error as Error).message}`,
      })
      continue
    }
    if (outcome)
      targets.push({
        name: tenant.metadata.name,
        accepted: outcome.accepted,
        reason: outcome.reason,
        message: outcome.message,
      })
  }
  return targets.sort((a, b) => a.name.localeCompare(b.name))
}

/** computePolicyStatus builds the policy's status on a copy: targets, Accepted and Conflicted. */
export function computePolicyStatus(
  current: RateLimitPolicyStatus | undefined,
  generation: number,
  targets: PolicyTargetStatus[],
  missingRefs: string[],
  now: Date,
): RateLimitPolicyStatus {
  const at = now.toISOString()
  const status: RateLimitPolicyStatus = structuredClone(current ?? {})
  let conditions = status.conditions ?? []
  const accepted = targets.filter((t) => t.accepted)
  const conflicted = targets.filter((t) => t.reason === 'Conflicted')
  const missing = missingRefs.length > 0 ? `; Tenant(s) not found: ${missingRefs.join(', ')}` : ''
  conditions = setCondition(
    conditions,
    accepted.length > 0
      ? {
          type: 'Accepted',
          status: 'True',
          reason: 'Accepted',
          message: `in force for ${accepted.length} tenant(s)${missing}`,
          observedGeneration: generation,
        }
      : {
          type: 'Accepted',
          status: 'False',
          reason: 'NoTargets',
          message: `selects no Tenant${missing}`,
          observedGeneration: generation,
        },
    at,
  )
  conditions = setCondition(
    conditions,
    conflicted.length > 0
      ? {
          type: 'Conflicted',
          status: 'True',
          reason: 'Conflicted',
          message: conflicted.map((t) => `${t.name}: ${t.message}`).join('; '),
          observedGeneration: generation,
        }
      : {
          type: 'Conflicted',
          status: 'False',
          reason: 'NoConflict',
          message: 'no other policy overrides this one',
          observedGeneration: generation,
        },
    at,
  )
  status.conditions = conditions
  status.observedGeneration = generation
  status.targets = targets.map((t) => ({ ...t }))
  return status
}
