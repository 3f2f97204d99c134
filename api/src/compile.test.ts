import { describe, expect, it } from 'vitest'
import { compileTenantConfig, InvalidSpecError } from './compile.ts'
import { DEFAULT_PRICES } from './prices.ts'
import type { RateLimitPolicy, Tenant } from './resources.ts'
import { DEFAULT_TIERS } from './tiers.ts'
import { validateResource } from './validate.ts'

const tenant = (spec: Partial<Tenant['spec']> = {}, labels: Record<string, string> = {}): Tenant => ({
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Tenant',
  metadata: { name: 'acme', labels },
  spec: { providers: [{ name: 'openai', type: 'openai' }], ...spec },
})

const policy = (name: string, spec: Partial<RateLimitPolicy['spec']>): RateLimitPolicy => ({
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'RateLimitPolicy',
  metadata: { name },
  spec: { targetRefs: [{ kind: 'Tenant', name: 'acme' }], ...spec },
})

const compile = (t: Tenant, policies: RateLimitPolicy[] = []) =>
  compileTenantConfig({ tenant: t, policies, tiers: DEFAULT_TIERS, prices: DEFAULT_PRICES, version: 1 })

describe('compileTenantConfig', () => {
  it('takes tenant-wide limits from the tier, overridden field by field by the spec', () => {
    const { config } = compile(tenant({ tier: 'pro', limits: { requestsPerMinute: 5 } }))
    expect(config.limits).toEqual([
      {
        id: 'tenant',
        name: 'tenant',
        source: { kind: 'Tenant', name: 'acme' },
        match: { providers: [], models: [] },
        requestsPerMinute: 5,
        tokensPerMinute: DEFAULT_TIERS.pro.tokensPerMinute,
        tokensPerDay: DEFAULT_TIERS.pro.tokensPerDay,
        concurrency: DEFAULT_TIERS.pro.concurrency,
        shadow: false,
      },
    ])
  })

  it('has no tenant-wide limit on the unlimited tier', () => {
    expect(compile(tenant({ tier: 'unlimited' })).config.limits).toEqual([])
  })

  it.each([
    ['openai', undefined, 'https://api.openai.com'],
    ['anthropic', undefined, 'https://api.anthropic.com'],
    ['openai-compatible', 'http://vllm:8000/', 'http://vllm:8000'],
  ] as const)('gives a %s provider the base URL %s → %s', (type, baseURL, expected) => {
    const { config } = compile(tenant({ providers: [{ name: 'p', type, ...(baseURL && { baseURL }) }] }))
    expect(config.providers[0]?.baseURL).toBe(expected)
  })

  it('stacks the limits of every policy that targets the tenant, marking shadow ones', () => {
    const { config } = compile(tenant({ tier: 'unlimited' }, { team: 'a' }), [
      policy('by-ref', { limits: [{ name: 'gpt4', match: { models: ['gpt-4o*'] }, requestsPerMinute: 10 }] }),
      policy('by-label', {
        targetRefs: undefined,
        tenantSelector: { matchLabels: { team: 'a' } },
        shadow: true,
        limits: [{ name: 'all', tokensPerMinute: 100 }],
      }),
      policy('other-tenant', {
        targetRefs: [{ kind: 'Tenant', name: 'globex' }],
        limits: [{ name: 'x', concurrency: 1 }],
      }),
    ])
    expect(config.limits.map((l) => [l.id, l.shadow])).toEqual([
      ['policy.by-ref.gpt4', false],
      ['policy.by-label.all', true],
    ])
  })

  it('lets the most specific policy win a single-valued setting and reports the loser Conflicted', () => {
    const { config, outcomes } = compile(tenant({}, { team: 'a' }), [
      policy('zeta', { retry: { attempts: 5 } }),
      policy('alpha', {
        targetRefs: undefined,
        tenantSelector: { matchLabels: { team: 'a' } },
        retry: { attempts: 1 },
      }),
      policy('beta', { retry: { attempts: 3 }, failureMode: 'closed' }),
    ])
    expect(config.retry.attempts).toBe(3)
    expect(config.failureMode).toBe('closed')
    expect(outcomes).toEqual([
      { policy: 'beta', accepted: true, reason: 'Accepted', message: 'in force' },
      { policy: 'zeta', accepted: true, reason: 'Conflicted', message: 'retry is overridden by policy beta' },
      {
        policy: 'alpha',
        accepted: true,
        reason: 'Conflicted',
        message: 'retry is overridden by policy beta',
      },
    ])
  })

  it('prices in nano-dollars per token, with tenant overrides replacing shipped rows', () => {
    const { config } = compile(
      tenant({ pricing: [{ model: 'gpt-4o', inputPerMTok: '1', outputPerMTok: '2' }] }),
    )
    expect(config.prices.filter((p) => p.model === 'gpt-4o')).toEqual([
      { model: 'gpt-4o', inputNano: 1_000, outputNano: 2_000, cachedInputNano: 1_000 },
    ])
    expect(config.prices.find((p) => p.model === 'gpt-4o-mini')?.inputNano).toBe(150)
  })

  it.each([
    // claude-sonnet-4-5: $3 in, 5-minute writes 1.25x, 1-hour writes 2x, reads $0.30
    [
      {
        model: 'claude-x',
        provider: 'anthropic' as const,
        inputPerMTok: '3',
        outputPerMTok: '15',
        cachedInputPerMTok: '0.3',
      },
      {
        inputNano: 3_000,
        cacheWrite5mNano: 3_750,
        cacheWrite1hNano: 6_000,
        cachedInputNano: 300,
        outputNano: 15_000,
      },
    ],
    [
      { model: 'tts-x', inputPerMTok: '0', outputPerMTok: '0', perMCharacters: '15' },
      { perCharacterNano: 15_000 },
    ],
    [
      { model: 'whisper-x', inputPerMTok: '0', outputPerMTok: '0', perMinute: '0.006' },
      { perSecondNano: 100_000 },
    ],
    [
      { model: 'dall-e-x', inputPerMTok: '0', outputPerMTok: '0', perImage: { 'hd:1024x1792': '0.12' } },
      { perImageNano: { 'hd:1024x1792': 120_000_000 } },
    ],
  ])('compiles every unit of a price row: %o', (row, nano) => {
    const { config } = compile(tenant({ pricing: [row] }))
    expect(config.prices.find((p) => p.model === row.model)).toMatchObject(nano)
  })

  it('defaults: unpriced models denied, batches and background responses refused, budgets fail closed', () => {
    const { config } = compile(tenant({}))
    expect(config.unpricedModels).toBe('deny')
    expect(config.providers[0]?.endpoints).toEqual({
      batches: 'refuse',
      backgroundResponses: 'refuse',
      allow: [],
    })
    expect([config.failureMode, config.budgetFailureMode]).toEqual(['open', 'closed'])
  })

  it('compiles budgets in nano-dollars and carries exhaustion from the ledger', () => {
    const { config } = compileTenantConfig({
      tenant: tenant({ budgets: [{ period: 'day', limitUSD: '12.5', alertAt: [1, 0.5] }] }),
      policies: [],
      tiers: DEFAULT_TIERS,
      prices: [],
      version: 1,
      exhausted: { day: '2026-11-24T00:00:00.000Z' },
    })
    expect(config.budgets).toEqual([
      {
        period: 'day',
        limitNanoUSD: 12_500_000_000,
        timezone: 'UTC',
        alertAt: [0.5, 1],
        exhaustedUntil: '2026-11-24T00:00:00.000Z',
      },
    ])
  })

  it('reports no conflict between policies that leave the single-valued settings unset', () => {
    const policies = [
      policy('one', { limits: [{ name: 'a', requestsPerMinute: 1 }] }),
      policy('two', { limits: [{ name: 'b', requestsPerMinute: 2 }] }),
    ]
    // Apply the schema defaults the API server applies: a defaulted field would count as set.
    for (const p of policies) expect(validateResource(p)).toEqual([])
    const { config, outcomes } = compile(tenant(), policies)
    expect(config.failureMode).toBe('open')
    expect(outcomes.map((o) => o.reason)).toEqual(['Accepted', 'Accepted'])
  })

  it('hashes content but not version, so an unchanged spec is detectable', () => {
    const a = compileTenantConfig({
      tenant: tenant(),
      policies: [],
      tiers: DEFAULT_TIERS,
      prices: [],
      version: 1,
    })
    const b = compileTenantConfig({
      tenant: tenant(),
      policies: [],
      tiers: DEFAULT_TIERS,
      prices: [],
      version: 2,
    })
    const c = compileTenantConfig({
      tenant: tenant({ suspended: true }),
      policies: [],
      tiers: DEFAULT_TIERS,
      prices: [],
      version: 2,
    })
    expect(a.config.hash).toBe(b.config.hash)
    expect(c.config.hash).not.toBe(a.config.hash)
  })

  it.each([
    [
      'an unknown time zone',
      tenant({ budgets: [{ period: 'day', limitUSD: '1', timezone: 'Mars/Olympus' }] }),
      'spec.budgets[0].timezone',
    ],
    [
      'openai-compatible without baseURL',
      tenant({ providers: [{ name: 'p', type: 'openai-compatible' }] }),
      'spec.providers[0].baseURL',
    ],
  ])('refuses %s with an InvalidSpecError naming the field', (_, t, field) => {
    expect(() => compile(t)).toThrow(InvalidSpecError)
    expect(() => compile(t)).toThrow(field)
  })
})
