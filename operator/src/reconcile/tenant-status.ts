import { type Condition, nanoToUsd, type TenantStatus } from '@tollgate/api'
import { canonicalJSON } from '../store/resource-store.ts'
import { type BudgetUsage, exhaustedPeriods, type TenantUsage, usageEntries } from '../usage/budget-state.ts'
import { type ConditionInput, findCondition, setCondition } from './conditions.ts'

/** Reasons the tenant conditions use; each is one stable CamelCase word. */
export const REASONS = {
  compiled: 'Compiled',
  invalidSpec: 'InvalidSpec',
  synced: 'Synced',
  secretNotFound: 'SecretNotFound',
  referenceNotPermitted: 'ReferenceNotPermitted',
  redisUnavailable: 'RedisUnavailable',
  databaseUnavailable: 'DatabaseUnavailable',
  ready: 'Ready',
  suspended: 'Suspended',
  notSuspended: 'NotSuspended',
  withinBudget: 'WithinBudget',
  nearLimit: 'NearLimit',
  exceeded: 'BudgetExceeded',
  noBudget: 'NoBudget',
} as const

/** TenantObservation is what one reconcile found and did; the status is a pure function of it. */
export interface TenantObservation {
  generation: number
  suspended: boolean
  /** Set when the spec could not be compiled. */
  invalidSpec?: string
  /** The version in Redis, when the write (or the no-op compare) succeeded. */
  configVersion?: number
  redisError?: string
  databaseError?: string
  /** One line per permitted reference whose Secret (or key in it) is missing. */
  secretProblems: string[]
  /** One line per Secret reference that points outside the operator's namespace without a grant. */
  referenceProblems: string[]
  appliedPolicies: string[]
  /** Undefined until the usage loop (or the last status) says something. */
  usage?: TenantUsage
}

/** Default fraction of a budget at which BudgetNearLimit turns True when alertAt gives none below 1. */
export const NEAR_LIMIT_DEFAULT = 0.8

/**
 * computeTenantStatus builds the new status on a copy of the current one: only the fields and
 * conditions the tenant controller owns change; others (mediatedPods) are kept.
 */
export function computeTenantStatus(
  current: TenantStatus | undefined,
  o: TenantObservation,
  now: Date,
): TenantStatus {
  const at = now.toISOString()
  const status: TenantStatus = structuredClone(current ?? {})
  let conditions: Condition[] = status.conditions ?? []
  const set = (c: Omit<ConditionInput, 'observedGeneration'>) => {
    conditions = setCondition(conditions, { ...c, observedGeneration: o.generation }, at)
  }

  set(
    o.invalidSpec
      ? { type: 'Accepted', status: 'False', reason: REASONS.invalidSpec, message: o.invalidSpec }
      : {
          type: 'Accepted',
          status: 'True',
          reason: REASONS.compiled,
          message: policiesMessage(o.appliedPolicies),
        },
  )

  const synced = syncedCondition(o)
  set(synced)

  const notReady = o.invalidSpec
    ? { reason: REASONS.invalidSpec, message: `spec is invalid: ${o.invalidSpec}` }
    : o.redisError
      ? { reason: REASONS.redisUnavailable, message: `config not written to Redis: ${o.redisError}` }
      : o.referenceProblems.length > 0
        ? { reason: REASONS.referenceNotPermitted, message: o.referenceProblems.join('; ') }
        : o.secretProblems.length > 0
          ? { reason: REASONS.secretNotFound, message: o.secretProblems.join('; ') }
          : undefined
  set(
    notReady
      ? { type: 'Ready', status: 'False', ...notReady }
      : {
          type: 'Ready',
          status: 'True',
          reason: REASONS.ready,
          message: `sidecars enforce config version ${o.configVersion}`,
        },
  )

  set(
    o.suspended
      ? {
          type: 'Suspended',
          status: 'True',
          reason: REASONS.suspended,
          message: 'spec.suspended is true: every call is refused',
        }
      : { type: 'Suspended', status: 'False', reason: REASONS.notSuspended, message: 'calls are served' },
  )

  if (o.usage) {
    const budgeted = o.usage.periods.filter((p) => p.limitNano !== undefined)
    const exhausted = exhaustedPeriods(o.usage)
    const over = budgeted.filter((p) => exhausted[p.bounds.period])
    const near = budgeted.filter((p) => !exhausted[p.bounds.period] && isNearLimit(p))
    set(
      budgeted.length === 0
        ? { type: 'BudgetExceeded', status: 'False', reason: REASONS.noBudget, message: 'no budget is set' }
        : over.length > 0
          ? {
              type: 'BudgetExceeded',
              status: 'True',
              reason: REASONS.exceeded,
              message: over.map(exceededMessage).join('; '),
            }
          : {
              type: 'BudgetExceeded',
              status: 'False',
              reason: REASONS.withinBudget,
              message: 'every budget has money left',
            },
    )
    set(
      near.length > 0
        ? {
            type: 'BudgetNearLimit',
            status: 'True',
            reason: REASONS.nearLimit,
            message: near.map(spendMessage).join('; '),
          }
        : {
            type: 'BudgetNearLimit',
            status: 'False',
            reason: budgeted.length === 0 ? REASONS.noBudget : REASONS.withinBudget,
            message: budgeted.length === 0 ? 'no budget is set' : 'no budget is near its limit',
          },
    )
    status.usage = usageEntries(o.usage)
  }

  status.conditions = conditions
  status.observedGeneration = o.generation
  status.appliedPolicies = [...o.appliedPolicies]
  if (o.configVersion !== undefined) status.configVersion = o.configVersion
  return status
}

function syncedCondition(o: TenantObservation): Omit<ConditionInput, 'observedGeneration'> {
  if (o.invalidSpec)
    return {
      type: 'Synced',
      status: 'False',
      reason: REASONS.invalidSpec,
      message: 'nothing synced: the spec is invalid',
    }
  if (o.redisError)
    return { type: 'Synced', status: 'False', reason: REASONS.redisUnavailable, message: o.redisError }
  if (o.referenceProblems.length > 0)
    return {
      type: 'Synced',
      status: 'False',
      reason: REASONS.referenceNotPermitted,
      message: o.referenceProblems.join('; '),
    }
  if (o.secretProblems.length > 0)
    return {
      type: 'Synced',
      status: 'False',
      reason: REASONS.secretNotFound,
      message: o.secretProblems.join('; '),
    }
  if (o.databaseError)
    return {
      type: 'Synced',
      status: 'False',
      reason: REASONS.databaseUnavailable,
      message: `config version ${o.configVersion} is in Redis; the Postgres record follows when the database is back (${o.databaseError})`,
    }
  return {
    type: 'Synced',
    status: 'True',
    reason: REASONS.synced,
    message: `config version ${o.configVersion} signed in Redis and in Postgres; the tenant's Redis user is in place`,
  }
}

/** isNearLimit: spend reached the lowest alert threshold below 1 (or 80% without one). */
export function isNearLimit(period: BudgetUsage): boolean {
  if (period.limitNano === undefined) return false
  const below = period.alertAt.filter((a) => a < 1)
  const fraction = below.length > 0 ? Math.min(...below) : NEAR_LIMIT_DEFAULT
  return period.totals.costNano >= Math.ceil(fraction * period.limitNano)
}

const spendMessage = (p: BudgetUsage) =>
  `${p.bounds.period} budget: $${nanoToUsd(p.totals.costNano)} of $${nanoToUsd(p.limitNano ?? 0)} spent (${Math.floor((p.totals.costNano / (p.limitNano || 1)) * 100)}%)`

const exceededMessage = (p: BudgetUsage) =>
  `${spendMessage(p)}; calls are refused until ${p.bounds.end.toISOString()}`

const policiesMessage = (policies: string[]) =>
  policies.length === 0 ? 'spec compiled' : `spec compiled with policies ${policies.join(', ')}`

/** statusEqual compares two statuses by content, ignoring key order. */
export const statusEqual = (a: unknown, b: unknown) => canonicalJSON(a ?? {}) === canonicalJSON(b ?? {})

export { findCondition }
