import type { CompiledBudget, CompiledConfig, CompiledLimit } from '@tollgate/api'
import type { BudgetCalendar } from '@tollgate/api/budget-calendar.ts'
import { matchesAny } from '@tollgate/api/glob.ts'
import { nanoToUsd } from '@tollgate/api/money.ts'
import { keys } from '@tollgate/api/redis-keys.ts'
import type { CheckIdentity, LimitKind, LimitRequest } from './limiter.ts'

export const MINUTE_MS = 60_000
export const DAY_MS = 86_400_000
/** A window counter outlives its window by this much so a late settle still finds it. */
const WINDOW_GRACE_MS = { rpm: MINUTE_MS, tpm: MINUTE_MS, tpd: 3_600_000 } as const
/** A spend counter outlives its period by a day (late settles, and for people to look at). */
const PERIOD_GRACE_MS = DAY_MS

/**
 * ScriptCheck is one check in the form the lease script (lease.lua) and the in-memory
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

/** ScriptPlan is a request's checks as the executors run them (lease.lua via LeaseCheck, memory-executor.ts). */
export interface ScriptPlan {
  /** Reservation id, the member of concurrency sets. */
  id: string
  /** Time override in epoch ms; set only when a clock is injected (tests). */
  now?: number
  checks: ScriptCheck[]
}

/** PlannedCheck describes a ScriptCheck for reports and rejections. */
export interface PlannedCheck extends CheckIdentity {
  /** What this request is charged. */
  cost: number
  /** The hash of the sidecars' unused leases on this check's counters (lease.lua). */
  leases: string
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
  /** Memo of what applies per config, provider and model; a fresh one when absent. */
  templates?: PlanTemplates
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

/** Template is what a check of one (config, provider, model) is, whatever the request. */
interface Template extends CheckIdentity {
  /** What the request is charged: one request, its estimated tokens, or its estimated cost. */
  charge: 'one' | 'tokens' | 'money'
  /** Window counters: metric and width; keys of the three candidates, kept for their window. */
  window?: { metric: 'rpm' | 'tpm' | 'tpd'; width: number; first: number; keys: string[] }
  /** Concurrency set. */
  inflight?: string
  /** Hash of the leases on this check's counters. */
  leases: string
  /** Budget, with the candidate periods and their keys kept until the period changes. */
  budget?: {
    budget: CompiledBudget
    start: number
    end: number
    keys: string[]
    bounds: [number, number, number, number]
  }
}

const METRIC = { requestsPerMinute: 'rpm', tokensPerMinute: 'tpm', tokensPerDay: 'tpd' } as const
/** Most (provider, model) pairs whose templates are kept per config; model names come from clients. */
const MAX_TEMPLATE_SETS = 1024

/**
 * PlanTemplates memoises, per compiled config and per provider and model, which checks apply and
 * their names, scopes and keys, so the request path only fills in costs and, once per window or
 * period, the candidate keys. A new config (a new object) starts afresh.
 */
export class PlanTemplates {
  #byConfig = new WeakMap<CompiledConfig, Map<string, Template[]>>()

  templates(config: CompiledConfig, provider: string, model: string): Template[] {
    let sets = this.#byConfig.get(config)
    if (!sets) {
      sets = new Map()
      this.#byConfig.set(config, sets)
    }
    const id = `${provider}\u0000${model}`
    let templates = sets.get(id)
    if (!templates) {
      templates = compileTemplates(config, provider, model)
      if (sets.size < MAX_TEMPLATE_SETS) sets.set(id, templates)
    }
    return templates
  }
}

function compileTemplates(config: CompiledConfig, provider: string, model: string): Template[] {
  const out: Template[] = []
  for (const limit of applicableLimits(config.limits, provider, model)) {
    const base = { id: limit.id, name: limit.name, shadow: limit.shadow }
    for (const kind of ['requestsPerMinute', 'tokensPerMinute', 'tokensPerDay'] as const) {
      const max = limit[kind]
      if (max === undefined) continue
      const metric = METRIC[kind]
      out.push({
        ...base,
        kind,
        scope: limitScope(kind, limit, provider, model),
        limit: max,
        charge: kind === 'requestsPerMinute' ? 'one' : 'tokens',
        window: { metric, width: metric === 'tpd' ? DAY_MS : MINUTE_MS, first: Number.NaN, keys: [] },
        leases: keys.limitLeases(config.tenant, limit.id, metric),
      })
    }
    if (limit.concurrency !== undefined) {
      out.push({
        ...base,
        kind: 'concurrency',
        scope: limitScope('concurrency', limit, provider, model),
        limit: limit.concurrency,
        charge: 'one',
        inflight: keys.slots(config.tenant, limit.id),
        leases: keys.limitLeases(config.tenant, limit.id, 'inflight'),
      })
    }
  }
  for (const budget of config.budgets) {
    out.push({
      kind: 'budget',
      id: `budget.${budget.period}`,
      name: budget.period,
      scope: budgetScope(config.tenant, budget),
      shadow: false,
      limit: budget.limitNanoUSD,
      charge: 'money',
      budget: { budget, start: Number.NaN, end: Number.NaN, keys: [], bounds: [0, 0, 0, 0] },
      leases: keys.spendLeases(config.tenant, budget.period),
    })
  }
  return out
}

/**
 * buildPlan turns a request into the checks it must pass: for every applicable limit its
 * requests, tokens (per minute and per UTC day) and concurrency, and every budget's spend in the
 * current calendar period of its time zone. Pure apart from the memos (templates, calendar).
 */
export function buildPlan(request: LimitRequest, options: PlanOptions): Plan {
  const { provider, model, estimatedTokens, estimatedCostNano, config } = request
  // Keys follow the config's tenant (the request's `tenant` is the same name; templates are per config).
  const tenant = config.tenant
  const { now } = options
  const templates = (options.templates ?? new PlanTemplates()).templates(config, provider, model)
  const planKeys: string[] = []
  const script: ScriptCheck[] = []
  const checks: PlannedCheck[] = []

  for (const t of templates) {
    const cost = t.charge === 'one' ? 1 : t.charge === 'tokens' ? estimatedTokens : estimatedCostNano
    const x = t.shadow ? 1 : 0
    const k = planKeys.length + 1
    if (t.window) {
      const w = t.window
      const first = Math.floor(now / w.width) * w.width - w.width
      if (first !== w.first) {
        w.first = first
        w.keys = [0, 1, 2].map((i) => keys.window(tenant, t.id, w.metric, (first + i * w.width) / 1000))
      }
      planKeys.push(...w.keys)
      script.push({ t: 'w', k, l: t.limit, c: cost, x, w: w.width, s: first, g: WINDOW_GRACE_MS[w.metric] })
    } else if (t.inflight) {
      planKeys.push(t.inflight)
      script.push({ t: 'c', k, l: t.limit, c: 1, x, g: options.leaseMs })
    } else if (t.budget) {
      const b = t.budget
      if (!(b.start <= now && now < b.end)) {
        const periods = options.calendar.around(b.budget.period, b.budget.timezone, now)
        b.start = periods[1].start
        b.end = periods[1].end
        b.keys = periods.map((p) => keys.spend(tenant, b.budget.period, p.label))
        b.bounds = [periods[0].start, periods[1].start, periods[2].start, periods[2].end]
      }
      planKeys.push(...b.keys)
      script.push({ t: 'p', k, l: t.limit, c: cost, x: 0, b: b.bounds, g: PERIOD_GRACE_MS })
    }
    checks.push({
      kind: t.kind,
      id: t.id,
      name: t.name,
      scope: t.scope,
      shadow: t.shadow,
      limit: t.limit,
      cost,
      leases: t.leases,
    })
  }

  return {
    keys: planKeys,
    script: { id: options.id, ...(options.overrideNow && { now }), checks: script },
    checks,
  }
}
