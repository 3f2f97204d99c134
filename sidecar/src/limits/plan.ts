import { type CompiledBudget, type CompiledLimit, keys, matchesAny, nanoToUsd } from '@tollgate/api'
import type { BudgetCalendar } from './budget-period.ts'
import type { LimitKind, LimitRequest } from './limiter.ts'

export const MINUTE_MS = 60_000
export const DAY_MS = 86_400_000
/** A window counter outlives its window by this much so a late settle still finds it. */
const WINDOW_GRACE_MS = { rpm: MINUTE_MS, tpm: MINUTE_MS, tpd: 3_600_000 } as const
/** A spend counter outlives its period by a day (late settles, and for people to look at). */
const PERIOD_GRACE_MS = DAY_MS

/**
 * ScriptCheck is one check in the form the reserve script (reserve.lua) and the in-memory
 * executor both run. Candidate keys are consecutive in KEYS starting at `k` (1-based):
 * windows and periods pass three candidates (previous, current, next by the sidecar's clock) and
 * the executor picks the one that contains its own time, which for Redis is the server's.
 */
export interface ScriptCheck {
  /** w: fixed window counter; c: concurrency set; p: calendar period counter. */
  t: 'w' | 'c' | 'p'
  k: number
  /** Limit. */
  l: number
  /** Cost of this request. */
  c: number
  /** 1 for shadow: counted and reported, never rejecting. */
  x: 0 | 1
  /** Window width in ms (t = w). */
  w?: number
  /** Start of the first candidate window in ms (t = w). */
  s?: number
  /** Period bounds in ms: candidates are [b0, b1), [b1, b2), [b2, b3) (t = p). */
  b?: [number, number, number, number]
  /** Counter expiry after the end of its window or period; for t = c the slot lease. */
  g: number
}

/** ScriptPlan is what reserve.lua receives (flattened into ARGV by encodeArgv). */
export interface ScriptPlan {
  /** Reservation id, the member of concurrency sets. */
  id: string
  /** Time override in epoch ms; set only when a clock is injected (tests). */
  now?: number
  checks: ScriptCheck[]
}

/** PlannedCheck describes a ScriptCheck for reports and rejections. */
export interface PlannedCheck {
  kind: LimitKind
  id: string
  name: string
  scope: string
  shadow: boolean
  limit: number
  cost: number
}

/** Plan is everything one reservation evaluates: KEYS, the script's checks, and their meaning. */
export interface Plan {
  keys: string[]
  script: ScriptPlan
  checks: PlannedCheck[]
}

export interface PlanOptions {
  /** Reservation id. */
  id: string
  /** The sidecar's clock, used to pick candidate windows and periods. */
  now: number
  /** Pass `now` to the executor as the decision time (injected clocks); else it uses its own. */
  overrideNow: boolean
  /** How long a concurrency slot lives without being settled (crashed sidecar). */
  leaseMs: number
  calendar: BudgetCalendar
}

/** applicableLimits are the tenant's limits whose `match` selects the provider and model. */
export const applicableLimits = (limits: readonly CompiledLimit[], provider: string, model: string) =>
  limits.filter((l) => matchesAny(l.match.providers, provider) && matchesAny(l.match.models, model))

/** limitScope names a limit for people: `tokensPerMinute of limit gpt4 in policy gpt4-limits for model gpt-4o`. */
export function limitScope(kind: LimitKind, limit: CompiledLimit, provider: string, model: string): string {
  const { source } = limit
  const owner =
    source.kind === 'RateLimitPolicy'
      ? `limit ${limit.name} in policy ${source.name}`
      : `${source.kind === 'Tier' ? 'tier' : 'tenant'} ${source.name}`
  const target =
    limit.match.models.length > 0
      ? ` for model ${model}`
      : limit.match.providers.length > 0
        ? ` for provider ${provider}`
        : ''
  return `${kind} of ${owner}${target}`
}

/** budgetScope names a budget for people: `day budget of tenant acme ($50 in Europe/Berlin)`. */
export const budgetScope = (tenant: string, budget: CompiledBudget) =>
  `${budget.period} budget of tenant ${tenant} ($${nanoToUsd(budget.limitNanoUSD)} in ${budget.timezone})`

/**
 * buildPlan turns a request into the checks it must pass: for every applicable limit its
 * requests, tokens (per minute and per UTC day) and concurrency, and every budget's spend in the
 * current calendar period of its time zone. Pure apart from the calendar's memo.
 */
export function buildPlan(request: LimitRequest, options: PlanOptions): Plan {
  const { tenant, provider, model, estimatedTokens, estimatedCostNano, config } = request
  const { now } = options
  const planKeys: string[] = []
  const script: ScriptCheck[] = []
  const checks: PlannedCheck[] = []

  const windowCheck = (
    limit: CompiledLimit,
    kind: 'requestsPerMinute' | 'tokensPerMinute' | 'tokensPerDay',
    max: number,
    cost: number,
  ) => {
    const metric = kind === 'requestsPerMinute' ? 'rpm' : kind === 'tokensPerMinute' ? 'tpm' : 'tpd'
    const width = metric === 'tpd' ? DAY_MS : MINUTE_MS
    const first = Math.floor(now / width) * width - width
    const k = planKeys.length + 1
    for (let i = 0; i < 3; i++)
      planKeys.push(keys.window(tenant, limit.id, metric, (first + i * width) / 1000))
    script.push({
      t: 'w',
      k,
      l: max,
      c: cost,
      x: limit.shadow ? 1 : 0,
      w: width,
      s: first,
      g: WINDOW_GRACE_MS[metric],
    })
    checks.push({
      kind,
      id: limit.id,
      name: limit.name,
      scope: limitScope(kind, limit, provider, model),
      shadow: limit.shadow,
      limit: max,
      cost,
    })
  }

  for (const limit of applicableLimits(config.limits, provider, model)) {
    if (limit.requestsPerMinute !== undefined)
      windowCheck(limit, 'requestsPerMinute', limit.requestsPerMinute, 1)
    if (limit.tokensPerMinute !== undefined)
      windowCheck(limit, 'tokensPerMinute', limit.tokensPerMinute, estimatedTokens)
    if (limit.tokensPerDay !== undefined)
      windowCheck(limit, 'tokensPerDay', limit.tokensPerDay, estimatedTokens)
    if (limit.concurrency !== undefined) {
      planKeys.push(keys.inflight(tenant, limit.id))
      script.push({
        t: 'c',
        k: planKeys.length,
        l: limit.concurrency,
        c: 1,
        x: limit.shadow ? 1 : 0,
        g: options.leaseMs,
      })
      checks.push({
        kind: 'concurrency',
        id: limit.id,
        name: limit.name,
        scope: limitScope('concurrency', limit, provider, model),
        shadow: limit.shadow,
        limit: limit.concurrency,
        cost: 1,
      })
    }
  }

  for (const budget of config.budgets) {
    const periods = options.calendar.around(budget.period, budget.timezone, now)
    const k = planKeys.length + 1
    for (const p of periods) planKeys.push(keys.spend(tenant, budget.period, p.label))
    script.push({
      t: 'p',
      k,
      l: budget.limitNanoUSD,
      c: estimatedCostNano,
      x: 0,
      b: [periods[0].start, periods[1].start, periods[2].start, periods[2].end],
      g: PERIOD_GRACE_MS,
    })
    checks.push({
      kind: 'budget',
      id: `budget.${budget.period}`,
      name: budget.period,
      scope: budgetScope(tenant, budget),
      shadow: false,
      limit: budget.limitNanoUSD,
      cost: estimatedCostNano,
    })
  }

  return {
    keys: planKeys,
    script: { id: options.id, ...(options.overrideNow && { now }), checks: script },
    checks,
  }
}
