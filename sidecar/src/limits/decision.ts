import { nanoToUsd } from '@tollgate/api/money.ts'
import { LIMIT_ERRORS, LimiterUnavailableError } from './errors.ts'
import type {
  CheckReport,
  LimitRequest,
  RateLimitInfo,
  RateLimitState,
  Rejection,
  Reservation,
} from './limiter.ts'
import { budgetScope, type Plan } from './plan.ts'

/** SlotReading is what an executor found for one check: the chosen key, its count, its reset. */
export interface SlotReading {
  /** 1-based index into Plan.keys of the counter the check used. */
  key: number
  used: number
  /** Epoch ms, or 0 when the counter does not reset by time (concurrency). */
  resetAt: number
}

/** ReserveReply is an executor's answer: admitted (everything charged) or not (nothing charged). */
export interface ReserveReply {
  admitted: boolean
  now: number
  slots: SlotReading[]
}

/** A rejected concurrency check suggests coming back after this long: slots free as calls end. */
const CONCURRENCY_RETRY_MS = 1_000

/**
 * decide turns an executor's reply into a Reservation or a Rejection. The executor has already
 * applied the rule (used + cost > limit on any enforced check rejects, and then nothing is
 * charged); this shapes the result the same way for every backend.
 */
export function decide(
  plan: Plan,
  reply: ReserveReply,
  request: LimitRequest,
  meta: { id: string; backend: 'redis' | 'memory' },
): Reservation | Rejection {
  const reports: CheckReport[] = plan.checks.map((check, i) => {
    const slot = reply.slots[i] as SlotReading
    const tripped = slot.used + check.cost > check.limit
    const left = check.limit - slot.used - (reply.admitted ? check.cost : 0)
    return {
      ...check,
      used: slot.used,
      remaining: Math.max(0, left),
      resetAt: slot.resetAt > 0 ? slot.resetAt : undefined,
      tripped,
    }
  })
  const shadowTripped = reports.filter((r) => r.shadow && r.tripped)
  const rateLimit = rateLimitState(reports)

  if (reply.admitted) {
    const keyOf = (i: number) => plan.keys[(reply.slots[i] as SlotReading).key - 1] as string
    const charged = { tokens: [] as string[], spend: [] as string[], inflight: [] as string[] }
    plan.checks.forEach((check, i) => {
      if (check.kind === 'tokensPerMinute' || check.kind === 'tokensPerDay') charged.tokens.push(keyOf(i))
      else if (check.kind === 'budget') charged.spend.push(keyOf(i))
      else if (check.kind === 'concurrency') charged.inflight.push(keyOf(i))
    })
    return {
      ok: true,
      id: meta.id,
      tenant: request.tenant,
      backend: meta.backend,
      estimatedTokens: request.estimatedTokens,
      estimatedCostNano: request.estimatedCostNano,
      at: reply.now,
      rateLimit,
      checks: reports,
      shadowTripped,
      charged,
    }
  }

  const enforced = reports.filter((r) => !r.shadow && r.tripped)
  if (enforced.length === 0) throw new LimiterUnavailableError('reserve script rejected without a reason')
  // Name the check that frees last: retrying before it frees is pointless whatever else tripped.
  const freeAt = (r: CheckReport) => r.resetAt ?? reply.now + CONCURRENCY_RETRY_MS
  const tripped = enforced.reduce((a, b) => (freeAt(b) > freeAt(a) ? b : a))
  const retryAfterSeconds = Math.max(1, Math.ceil((freeAt(tripped) - reply.now) / 1000))
  return {
    ok: false,
    code: tripped.kind === 'budget' ? LIMIT_ERRORS.budgetExceeded : LIMIT_ERRORS.quotaExceeded,
    status: 429,
    tripped,
    scope: tripped.scope,
    message: rejectionMessage(tripped, retryAfterSeconds),
    retryAfterSeconds,
    at: reply.now,
    rateLimit,
    checks: reports,
    shadowTripped,
  }
}

/** rejectionMessage is the sentence an error body carries. */
export function rejectionMessage(r: CheckReport, retryAfterSeconds: number): string {
  const retry = `Retry after ${retryAfterSeconds}s.`
  if (r.kind === 'budget') {
    const never = r.cost > r.limit ? ' This request alone may cost more than the whole budget.' : ''
    return `Budget exhausted: ${r.scope}: spent $${nanoToUsd(r.used)}, this request may cost up to $${nanoToUsd(r.cost)}.${never} ${retry}`
  }
  if (r.kind === 'concurrency') {
    return `Concurrency limit reached: ${r.scope}: ${r.limit} requests already in flight. ${retry}`
  }
  const unit = r.kind === 'requestsPerMinute' ? 'requests' : 'tokens'
  const never =
    r.cost > r.limit ? ` This request alone needs ${r.cost} ${unit}, more than the limit allows at all.` : ''
  return `Rate limit exceeded: ${r.scope}: limit ${r.limit} ${unit}, used ${r.used}, requested ${r.cost}.${never} ${retry}`
}

/**
 * rateLimitState picks what the `x-ratelimit-*` headers report: the enforced requests-per-minute
 * limit with the least room, and likewise for tokens (per minute, else per day).
 */
export function rateLimitState(reports: readonly CheckReport[]): RateLimitState {
  const tightest = (kind: CheckReport['kind']): RateLimitInfo | undefined => {
    let best: CheckReport | undefined
    for (const r of reports) {
      if (r.kind !== kind || r.shadow || r.resetAt === undefined) continue
      if (!best || r.remaining < best.remaining) best = r
    }
    return best && { limit: best.limit, remaining: best.remaining, resetAt: best.resetAt as number }
  }
  const requests = tightest('requestsPerMinute')
  const tokens = tightest('tokensPerMinute') ?? tightest('tokensPerDay')
  return { ...(requests && { requests }), ...(tokens && { tokens }) }
}

/**
 * exhaustedRejection answers at once for a budget the operator marked used up
 * (`exhaustedUntil` in the future), before any counter is touched.
 */
export function exhaustedRejection(request: LimitRequest, now: number): Rejection | undefined {
  let worst: { until: number; budget: (typeof request.config.budgets)[number] } | undefined
  for (const budget of request.config.budgets) {
    if (!budget.exhaustedUntil) continue
    const until = Date.parse(budget.exhaustedUntil)
    if (Number.isFinite(until) && until > now && (!worst || until > worst.until)) worst = { until, budget }
  }
  if (!worst) return undefined
  const { budget, until } = worst
  const scope = budgetScope(request.tenant, budget)
  const retryAfterSeconds = Math.max(1, Math.ceil((until - now) / 1000))
  const tripped: CheckReport = {
    kind: 'budget',
    id: `budget.${budget.period}`,
    name: budget.period,
    scope,
    shadow: false,
    limit: budget.limitNanoUSD,
    used: budget.limitNanoUSD,
    cost: request.estimatedCostNano,
    remaining: 0,
    resetAt: until,
    tripped: true,
  }
  return {
    ok: false,
    code: LIMIT_ERRORS.budgetExceeded,
    status: 429,
    tripped,
    scope,
    message: `Budget exhausted: ${scope} is used up until ${budget.exhaustedUntil}. Retry after ${retryAfterSeconds}s.`,
    retryAfterSeconds,
    at: now,
    rateLimit: {},
    checks: [tripped],
    shadowTripped: [],
  }
}

/** unavailableRejection is the 503 of failureMode closed when Redis cannot be asked. */
export const unavailableRejection = (now: number): Rejection => ({
  ok: false,
  code: LIMIT_ERRORS.limiterUnavailable,
  status: 503,
  scope: 'shared limits (Redis)',
  message:
    'Limits cannot be checked because Redis is unreachable, and the policy fails closed. Retry after 1s.',
  retryAfterSeconds: 1,
  at: now,
  rateLimit: {},
  checks: [],
  shadowTripped: [],
})
