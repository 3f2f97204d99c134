import { createHash } from 'node:crypto'

/**
 * The Redis key layout shared by operator and sidecar. Every key of a tenant carries the hash tag
 * `{tenant}` so a Redis Cluster keeps one tenant's keys on one slot (Lua scripts touch several).
 */
export const PREFIX = 'tollgate:v1:'

const t = (tenant: string) => `${PREFIX}{${tenant}}:`

/**
 * channels are the sharded pub/sub channels (SPUBLISH/SSUBSCRIBE), one per tenant, so that a
 * tenant's Redis user can be allowed its own and no other (ACL `&pattern`), and so that on a
 * Redis Cluster the channel lives on the tenant's slot: the operator publishes the version of a
 * changed config on it, the tenant's sidecars subscribe.
 */
export const channels = {
  config: (tenant: string) => `${t(tenant)}config:changed`,
}

export const keys = {
  /** SignedConfig (signed-config.ts) of the tenant's CompiledConfig; tenant users may only read it. */
  config: (tenant: string) => `${t(tenant)}config`,
  /**
   * Counter the operator increments for each new config version. Tenant deletion leaves it
   * (with a TTL) so a re-created tenant's versions keep rising past what sidecars hold.
   */
  configVersion: (tenant: string) => `${t(tenant)}config:version`,
  /**
   * The epoch of the tenant's config history (CompiledConfig.epoch), kept beside the counter. Both
   * gone means Redis lost the tenant's data: the operator starts a new epoch.
   */
  configEpoch: (tenant: string) => `${t(tenant)}config:epoch`,
  /** Operator bookkeeping of the cache-purge annotation: JSON `{ value, generation }`. */
  cachePurge: (tenant: string) => `${t(tenant)}cache-purge`,
  /** Prefix of every key of the tenant (for clean-up with SCAN). */
  tenantPrefix: (tenant: string) => t(tenant),
  /** Fixed-window request/token counter of one limit; window is the window start in seconds. */
  window: (tenant: string, limitId: string, metric: 'rpm' | 'tpm' | 'tpd', windowStart: number) =>
    `${t(tenant)}limit:${limitId}:${metric}:${windowStart}`,
  /**
   * Hash of the concurrency slots of one limit the sidecars hold: field = the sidecar's holder id,
   * value `held:expiresAtMs` (sidecar/src/limits/lease.lua). Before leases (issue 14) slots were
   * the members of a sorted set at `limit:<id>:inflight`; a new key, so that sidecars of both
   * kinds during an upgrade never meet a key of the other type.
   */
  slots: (tenant: string, limitId: string) => `${t(tenant)}limit:${limitId}:slots`,
  /**
   * Hash of the unused leases sidecars hold on the counters of one limit's metric (`rpm`, `tpm`,
   * `tpd`, `inflight`): field = the sidecar's holder id, value `amount:expiresAtMs:counterKey`
   * (sidecar/src/limits/lease.lua; docs/limits.md).
   */
  limitLeases: (tenant: string, limitId: string, metric: 'rpm' | 'tpm' | 'tpd' | 'inflight') =>
    `${t(tenant)}limit:${limitId}:${metric}:leases`,
  /** Hash of the unused leases sidecars hold on the spend counters of one budget period kind. */
  spendLeases: (tenant: string, period: 'day' | 'month') => `${t(tenant)}spend:${period}:leases`,
  /** Spend of one budget period in nano-dollars; periodStart is an ISO date (2026-11-23, 2026-11). */
  spend: (tenant: string, period: 'day' | 'month', periodStart: string) =>
    `${t(tenant)}spend:${period}:${periodStart}`,
  /**
   * Hash of absolute usage totals of one UTC hour (`2026-11-23T15`). Fields are
   * `<provider>|<model>|<namespace>|<counter>|<instance>|<workload>|<user>` (usageField): each
   * sidecar process (instance) sets its own totals, so a write sent twice counts once and, after
   * Redis lost its data, a sidecar's next write puts back all it counted. Counters are
   * USAGE_COUNTERS. Fields without workload and user are those of sidecars before issue 15 (read
   * as workload and user ''); fields without an instance those of sidecars before issue 13 (they
   * incremented shared totals).
   */
  usage: (tenant: string, hour: string) => `${t(tenant)}usage:${hour}`,
  /** Set of hours that have usage not yet known to be in the ledger. */
  usageHours: (tenant: string) => `${t(tenant)}usage:hours`,
  /**
   * A deferred call (a governed batch or background Response) charged its estimate and waiting for
   * its real usage (sidecar/src/deferred): hash of what was charged, deleted when settled.
   */
  deferred: (tenant: string, provider: string, id: string) => `${t(tenant)}deferred:${provider}:${id}`,
  /**
   * Stream of the tenant's recent calls and budget events (CallEvent, FeedEvent), capped at about
   * FEED_MAX_LENGTH entries: the console's live feed and its recent refusals read it. Sidecars add
   * their calls, the operator its budget events.
   */
  feed: (tenant: string) => `${t(tenant)}events:feed`,
  /** Hash of the tenant's sidecars' heartbeats: instance → SidecarHeartbeat as JSON. */
  heartbeats: (tenant: string) => `${t(tenant)}heartbeat:sidecars`,
  /** One cached response; generation comes from the compiled config. */
  cache: (tenant: string, generation: number, digest: string) => `${t(tenant)}cache:${generation}:${digest}`,
}

export const USAGE_COUNTERS = [
  'requests',
  'cacheHits',
  'inputTokens',
  'outputTokens',
  'cachedInputTokens',
  'reasoningTokens',
  'costNano',
  'errors',
  // the parts of the token totals billed at other rates, and the units of per-unit prices
  'cacheWrite5mTokens',
  'cacheWrite1hTokens',
  'audioInputTokens',
  'audioOutputTokens',
  'imageInputTokens',
  'imageOutputTokens',
  'images',
  'audioSeconds',
  'characters',
  // what the call's cache hits would have cost at the provider (issue 15): the cache's savings
  'cacheSavedNano',
] as const
export type UsageCounter = (typeof USAGE_COUNTERS)[number]

/**
 * usageField is the hash field of one counter of one sidecar instance (none: the shared totals of
 * older sidecars) and series; `|` cannot appear in provider, model, namespace or workload names we
 * accept, nor in instance ids, and endUserId takes it out of user ids. With workload and user
 * the field has seven parts; parseable from older sidecars with four or five.
 */
export const usageField = (
  provider: string,
  model: string,
  namespace: string,
  counter: UsageCounter,
  instance?: string,
  dims?: { workload: string; user: string },
) =>
  `${provider}|${model}|${namespace}|${counter}${instance === undefined ? '' : `|${instance}`}${
    dims && instance !== undefined ? `|${dims.workload}|${dims.user}` : ''
  }`

/** OTHER_END_USER is the user a call is counted under once its tenant's hour has too many users. */
export const OTHER_END_USER = 'other'

/** END_USER_MAX_LENGTH bounds an end-user id (longer ones are cut). */
export const END_USER_MAX_LENGTH = 128

/**
 * endUserId turns what a request names as its end user (OpenAI `user` / `safety_identifier`,
 * Anthropic `metadata.user_id`) into the usage dimension: trimmed, at most END_USER_MAX_LENGTH
 * characters, `|` and control characters replaced; '' for none. `other` is reserved for overflow
 * and so a user literally named `other` is counted as `other`.
 */
export function endUserId(value: unknown): string {
  if (typeof value !== 'string') return ''
  return value
    .trim()
    .slice(0, END_USER_MAX_LENGTH)
    .replace(/\p{Cc}|\|/gu, '_')
}

/**
 * correctionInstance is the instance of the usage fields that settle a deferred call (a batch, a
 * background Response): they hold its final usage minus its estimate, so they may be negative.
 */
export const correctionInstance = (callId: string) =>
  `${CORRECTION_PREFIX}${createHash('sha256').update(callId).digest('hex').slice(0, 16)}`
const CORRECTION_PREFIX = 'settled-'

/** isCorrectionInstance: the instance's counters correct an estimate and may be negative. */
export const isCorrectionInstance = (instance: string | undefined) =>
  instance?.startsWith(CORRECTION_PREFIX) === true

/** usageHour is the UTC hour bucket of a time, `2026-11-23T15`. */
export const usageHour = (at: Date) => at.toISOString().slice(0, 13)

/**
 * workloadName is the workload dimension of a pod's usage: `<kind>/<name>` of its owning
 * Deployment, StatefulSet, DaemonSet, Job or CronJob (`deployment/sample-app`), `pod/<name>` for a
 * pod without one; '' when unknown (older sidecars, standalone mode).
 */
export const workloadName = (kind: string, name: string) => `${kind.toLowerCase()}/${name}`
