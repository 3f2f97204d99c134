import { createHash } from 'node:crypto'
import type {
  CompiledBreaker,
  CompiledConfig,
  CompiledEndpoints,
  CompiledLimit,
  CompiledRetry,
  CompiledTimeouts,
  Price,
} from './compiled-config.ts'
import { parseDuration } from './duration.ts'
import { selectorMatches } from './label-selector.ts'
import { usdToNano } from './money.ts'
import { compilePrice, type PriceRow } from './prices.ts'
import type { FailureMode } from './ratelimit-policy.ts'
import type { RateLimitPolicy, Tenant } from './resources.ts'
import type { Provider, ProviderType } from './tenant.ts'
import type { TierTable } from './tiers.ts'

export const DEFAULT_BASE_URLS: Record<ProviderType, string | undefined> = {
  openai: 'https://api.openai.com',
  anthropic: 'https://api.anthropic.com',
  'openai-compatible': undefined,
}

export const DEFAULTS = {
  cache: { ttl: '1h', maxEntryBytes: 1_048_576, streaming: true },
  circuitBreaker: {
    consecutiveFailures: 5,
    openFor: '30s',
    halfOpenProbes: 1,
    on: ['5xx', 'timeout', 'connect'],
  },
  retry: { attempts: 2, base: '200ms', max: '5s', on: ['429', '5xx', 'connect'], respectRetryAfter: true },
  timeouts: { connect: '5s', firstByte: '60s', streamIdle: '30s' },
  /**
   * Without a policy's failureMode, rate limits fail open (each replica counts on its own) and
   * budgets fail closed (a replica cannot know what the others spent), as Envoy's ext_authz
   * fails closed for authorization unless told otherwise.
   */
  failureMode: 'open',
  budgetFailureMode: 'closed',
  unpricedModels: 'deny',
  unpricedFees: 'deny',
  endpoints: { batches: 'refuse', backgroundResponses: 'refuse' },
} as const

/** InvalidSpecError is a spec the API server accepted but that cannot be compiled; not retried. */
export class InvalidSpecError extends Error {
  readonly code = 'TOLLGATE_ERR_INVALID_SPEC'
  readonly field: string
  constructor(field: string, message: string) {
    super(`${field}: ${message}`)
    this.field = field
  }
}

/** PolicyOutcome tells a policy's status how it applies to one tenant. */
export interface PolicyOutcome {
  policy: string
  accepted: boolean
  reason: 'Accepted' | 'Conflicted'
  message: string
}

export interface CompileInput {
  tenant: Tenant
  /** All policies; the ones that target the tenant are picked here. */
  policies: RateLimitPolicy[]
  tiers: TierTable
  prices: PriceRow[]
  version: number
  cacheGeneration?: number
  /** Budget periods the ledger shows used up, with when they reset. */
  exhausted?: Partial<Record<'day' | 'month', string>>
}

/** policyTargets reports whether a policy selects the tenant, and how specifically. */
export function policyTargets(policy: RateLimitPolicy, tenant: Tenant): 'ref' | 'selector' | undefined {
  const { targetRefs, tenantSelector } = policy.spec
  if (targetRefs?.some((ref) => ref.name === tenant.metadata.name)) return 'ref'
  if (tenantSelector && selectorMatches(tenantSelector, tenant.metadata.labels)) return 'selector'
  return undefined
}

/**
 * compileTenantConfig is the pure translation from a Tenant, the policies, the tier table and the
 * price table to the config its sidecars enforce. Policies merge deterministically: limits of every
 * matching policy all apply; for each single-valued setting (circuitBreaker, retry, timeouts,
 * failureMode) the most specific policy wins (targetRefs before tenantSelector, then by name) and
 * the others are reported Conflicted.
 */
export function compileTenantConfig(input: CompileInput): {
  config: CompiledConfig
  outcomes: PolicyOutcome[]
} {
  const { tenant, tiers } = input
  const spec = tenant.spec
  const name = tenant.metadata.name
  const tier = spec.tier ?? 'free'

  const matching = input.policies
    .map((policy) => ({ policy, how: policyTargets(policy, tenant) }))
    .filter((m): m is { policy: RateLimitPolicy; how: 'ref' | 'selector' } => m.how !== undefined)
    .sort(
      (a, b) =>
        Number(a.how === 'selector') - Number(b.how === 'selector') ||
        a.policy.metadata.name.localeCompare(b.policy.metadata.name),
    )

  const conflicts = new Map<string, string[]>()
  const pick = <K extends 'circuitBreaker' | 'retry' | 'timeouts' | 'failureMode'>(field: K) => {
    const setters = matching.filter((m) => m.policy.spec[field] !== undefined)
    const [winner, ...losers] = setters
    for (const loser of losers) {
      const list = conflicts.get(loser.policy.metadata.name) ?? []
      list.push(`${field} is overridden by policy ${winner?.policy.metadata.name}`)
      conflicts.set(loser.policy.metadata.name, list)
    }
    return winner?.policy.spec[field]
  }

  const tierLimits = tiers[tier]
  const tenantLimits = { ...tierLimits, ...spec.limits }
  const limits: CompiledLimit[] = []
  if (Object.values(tenantLimits).some((v) => v !== undefined)) {
    limits.push({
      id: 'tenant',
      name: 'tenant',
      source: spec.limits ? { kind: 'Tenant', name } : { kind: 'Tier', name: tier },
      match: { providers: [], models: [] },
      ...tenantLimits,
      shadow: false,
    })
  }
  for (const { policy } of matching) {
    for (const limit of policy.spec.limits ?? []) {
      limits.push({
        id: `policy.${policy.metadata.name}.${limit.name}`,
        name: limit.name,
        source: { kind: 'RateLimitPolicy', name: policy.metadata.name },
        match: { providers: limit.match?.providers ?? [], models: limit.match?.models ?? [] },
        requestsPerMinute: limit.requestsPerMinute,
        tokensPerMinute: limit.tokensPerMinute,
        tokensPerDay: limit.tokensPerDay,
        concurrency: limit.concurrency,
        shadow: policy.spec.shadow ?? false,
      })
    }
  }

  const providers = spec.providers.map((p, i) => {
    const baseURL = p.baseURL ?? DEFAULT_BASE_URLS[p.type]
    if (!baseURL) throw new InvalidSpecError(`spec.providers[${i}].baseURL`, `required for type ${p.type}`)
    const ref = p.credentialsSecretRef
    const endpoints: CompiledEndpoints = {
      batches: p.endpoints?.batches ?? DEFAULTS.endpoints.batches,
      backgroundResponses: p.endpoints?.backgroundResponses ?? DEFAULTS.endpoints.backgroundResponses,
      allow: (p.endpoints?.allow ?? []).map((a) => ({ method: a.method, path: a.path, as: a.as })),
    }
    const headers = billingHeaders(p)
    return {
      name: p.name,
      type: p.type,
      baseURL: baseURL.replace(/\/+$/, ''),
      endpoints,
      ...(ref && { credential: { secretNamespace: ref.namespace, secretName: ref.name, key: ref.key } }),
      ...(headers && { headers }),
      ...(p.forwardHeaders?.length && { forwardHeaders: [...p.forwardHeaders] }),
    }
  })

  const budgets = (spec.budgets ?? []).map((b, i) => {
    const timezone = b.timezone ?? 'UTC'
    if (!isTimeZone(timezone))
      throw new InvalidSpecError(`spec.budgets[${i}].timezone`, `unknown time zone ${timezone}`)
    const exhaustedUntil = input.exhausted?.[b.period]
    return {
      period: b.period,
      limitNanoUSD: usdToNano(b.limitUSD),
      timezone,
      alertAt: [...(b.alertAt ?? [])].sort((x, y) => x - y),
      ...(exhaustedUntil && { exhaustedUntil }),
    }
  })

  const cb = pick('circuitBreaker')
  const circuitBreaker: CompiledBreaker = {
    consecutiveFailures: cb?.consecutiveFailures ?? DEFAULTS.circuitBreaker.consecutiveFailures,
    openForMs: parseDuration(cb?.openFor ?? DEFAULTS.circuitBreaker.openFor),
    halfOpenProbes: cb?.halfOpenProbes ?? DEFAULTS.circuitBreaker.halfOpenProbes,
    on: [...(cb?.tripOn ?? DEFAULTS.circuitBreaker.on)],
  }
  const r = pick('retry')
  const retry: CompiledRetry = {
    attempts: r?.attempts ?? DEFAULTS.retry.attempts,
    baseMs: parseDuration(r?.backoff?.base ?? DEFAULTS.retry.base),
    maxMs: parseDuration(r?.backoff?.max ?? DEFAULTS.retry.max),
    on: [...(r?.retryOn ?? DEFAULTS.retry.on)],
    respectRetryAfter: r?.respectRetryAfter ?? DEFAULTS.retry.respectRetryAfter,
  }
  const to = pick('timeouts')
  const timeouts: CompiledTimeouts = {
    connectMs: parseDuration(to?.connect ?? DEFAULTS.timeouts.connect),
    firstByteMs: parseDuration(to?.firstByte ?? DEFAULTS.timeouts.firstByte),
    streamIdleMs: parseDuration(to?.streamIdle ?? DEFAULTS.timeouts.streamIdle),
  }
  const chosen = pick('failureMode')
  const failureMode: FailureMode = chosen ?? DEFAULTS.failureMode
  const budgetFailureMode: FailureMode = chosen ?? DEFAULTS.budgetFailureMode

  const overrides = new Map((spec.pricing ?? []).map((row) => [row.model, row]))
  const prices: Price[] = [
    ...input.prices.filter((row) => !overrides.has(row.model)),
    ...overrides.values(),
  ].map(compilePrice)

  const body = {
    schema: 1 as const,
    tenant: name,
    tier,
    suspended: spec.suspended ?? false,
    providers,
    models: { allow: spec.models?.allow ?? [], deny: spec.models?.deny ?? [] },
    limits,
    budgets,
    cache: {
      enabled: spec.cache?.enabled ?? false,
      ttlSeconds: Math.ceil(parseDuration(spec.cache?.ttl ?? DEFAULTS.cache.ttl) / 1000),
      maxEntryBytes: spec.cache?.maxEntryBytes ?? DEFAULTS.cache.maxEntryBytes,
      streaming: spec.cache?.streaming ?? DEFAULTS.cache.streaming,
      generation: input.cacheGeneration ?? 0,
    },
    circuitBreaker,
    retry,
    timeouts,
    failureMode,
    budgetFailureMode,
    unpricedModels: spec.unpricedModels ?? DEFAULTS.unpricedModels,
    unpricedFees: spec.unpricedFees ?? DEFAULTS.unpricedFees,
    prices,
  }
  const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex')
  const outcomes: PolicyOutcome[] = matching.map(({ policy }) => {
    const lost = conflicts.get(policy.metadata.name)
    return lost
      ? { policy: policy.metadata.name, accepted: true, reason: 'Conflicted', message: lost.join('; ') }
      : { policy: policy.metadata.name, accepted: true, reason: 'Accepted', message: 'in force' }
  })
  return { config: { ...body, version: input.version, hash }, outcomes }
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

/**
 * billingHeaders are the headers that decide which OpenAI organization and project a call is
 * billed to. They come from the Tenant, never from the app (the sidecar drops the app's).
 */
function billingHeaders(p: Provider): Record<string, string> | undefined {
  const headers: Record<string, string> = {}
  if (p.organization) headers['openai-organization'] = p.organization
  if (p.project) headers['openai-project'] = p.project
  return Object.keys(headers).length > 0 ? headers : undefined
}
