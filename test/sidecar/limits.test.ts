import Anthropic from '@anthropic-ai/sdk'
import { keys, nanoToUsd } from '@tollgate/api'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import type { RedisClient } from '../../operator/src/redis/redis-client.ts'
import { estimateTokens } from '../../sidecar/src/limits/estimate.ts'
import { costNano, emptyUsage } from '../../sidecar/src/usage/usage.ts'
import { type FakeProvider, startFakeProvider } from '../fake-provider/fake-provider.ts'
import { stackRedis } from '../support/redis.ts'
import {
  type Harness,
  PLACEHOLDER_KEY,
  REAL_KEY,
  startHarness,
  startSidecarProcess,
  tenantYaml,
  writeConfig,
} from './harness.ts'
import { freshMinute, metricValue, policyYaml, uniqueTenant } from './policy.ts'

const { redisUrl } = inject('stack')
const chat = { messages: [{ role: 'user' as const, content: 'Tell me about toll gates.' }] }

let fake: FakeProvider
let redis: RedisClient
const harnesses: Harness[] = []

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: REAL_KEY })
  redis = stackRedis(redisUrl)
})
afterAll(async () => {
  for (const h of harnesses) await h.close()
  redis.disconnect()
  await fake?.close()
})

async function harness(opts: Parameters<typeof startHarness>[0]): Promise<Harness> {
  const h = await startHarness({ ...opts, fake })
  harnesses.push(h)
  return h
}

const openaiError = (e: unknown) => e as InstanceType<typeof OpenAI.APIError>

describe('limits enforced by the sidecar (standalone, in memory)', () => {
  it('answers 429 in the OpenAI shape naming the limit and its scope, with retry-after and x-ratelimit-*', async () => {
    const tenant = uniqueTenant()
    const h = await harness({
      tenant,
      extra: policyYaml('gpt4-limits', tenant, [
        'limits:',
        '  - { name: gpt4, match: { models: ["gpt-4o*"] }, requestsPerMinute: 2 }',
      ]),
    })
    await freshMinute()
    const before = fake.requests.length
    const { response } = await h.openai.chat.completions.create({ model: 'gpt-4o', ...chat }).withResponse()
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('2')
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBe('1')
    expect(response.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+(\.\d+)?s$|^\d+ms$/)
    await h.openai.chat.completions.create({ model: 'gpt-4o', ...chat })
    const error = openaiError(
      await h.openai.chat.completions.create({ model: 'gpt-4o', ...chat }).catch((e) => e),
    )
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect(error.status).toBe(429)
    expect(error.code).toBe('TOLLGATE_ERR_QUOTA_EXCEEDED')
    expect(error.type).toBe('rate_limit_exceeded')
    expect(error.message).toContain('requestsPerMinute of limit gpt4 in policy gpt4-limits for model gpt-4o')
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(error.headers?.get('x-ratelimit-remaining-requests')).toBe('0')
    expect(fake.requests.length - before).toBe(2)
    // another model is not limited by this policy's match
    await h.openai.chat.completions.create({ model: 'gpt-4.1-mini', ...chat })
  })

  it('answers 429 in the Anthropic shape', async () => {
    const tenant = uniqueTenant()
    const h = await harness({
      tenant,
      extra: policyYaml('claude-limits', tenant, [
        'limits:',
        '  - { name: claude, match: { providers: [anthropic] }, requestsPerMinute: 1 }',
      ]),
    })
    await freshMinute()
    const call = () => h.anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 50, ...chat })
    await call()
    const error = (await call().catch((e) => e)) as InstanceType<typeof Anthropic.APIError>
    expect(error).toBeInstanceOf(Anthropic.RateLimitError)
    expect(error.error).toMatchObject({
      type: 'error',
      error: { type: 'rate_limit_error', code: 'TOLLGATE_ERR_QUOTA_EXCEEDED' },
    })
    expect(error.message).toContain(
      'requestsPerMinute of limit claude in policy claude-limits for provider anthropic',
    )
  })

  it('refuses a call once the day budget cannot cover its estimated cost', async () => {
    const tenant = uniqueTenant()
    const body = { model: 'gpt-4o', max_tokens: 50, ...chat }
    const estimate = estimateTokens('openai', '/v1/chat/completions', body)
    // gpt-4o: 2500 nano-dollars per input token, 10000 per output token
    const perCall = costNano(
      { model: 'gpt-4o', inputNano: 2500, outputNano: 10_000, cachedInputNano: 1250 },
      { ...emptyUsage(), inputTokens: estimate.promptTokens, outputTokens: estimate.maxOutputTokens },
    )
    const h = await harness({
      tenant,
      spec: [
        'budgets:',
        `  - { period: day, limitUSD: "${nanoToUsd(Math.floor(perCall * 1.5))}", timezone: Europe/Berlin }`,
      ],
    })
    // the fake answers with the full max_tokens, so the first call really spends about its estimate
    const full = { headers: { 'x-fake-output-tokens': '50' } }
    await h.openai.chat.completions.create(body, full)
    const error = openaiError(await h.openai.chat.completions.create(body, full).catch((e) => e))
    expect(error.status).toBe(429)
    expect(error.code).toBe('TOLLGATE_ERR_BUDGET_EXCEEDED')
    expect(error.type).toBe('insufficient_quota')
    expect(error.message).toContain(`day budget of tenant ${tenant}`)
    expect(error.message).toContain('Europe/Berlin')
  })

  it('holds a concurrency slot while a call is in flight and frees it when the call ends', async () => {
    const tenant = uniqueTenant()
    const h = await harness({
      tenant,
      extra: policyYaml('one-at-a-time', tenant, ['limits:', '  - { name: single, concurrency: 1 }']),
    })
    const slow = h.openai.chat.completions.create(
      { model: 'gpt-4o-mini', ...chat },
      { headers: { 'x-fake-delay-ms': '400' } },
    )
    await fake.waitForRequest((r) => r.headers['x-fake-delay-ms'] === '400' && r.ended !== true)
    const error = openaiError(
      await h.openai.chat.completions.create({ model: 'gpt-4o-mini', ...chat }).catch((e) => e),
    )
    expect(error.status).toBe(429)
    expect(error.message).toContain('concurrency of limit single in policy one-at-a-time')
    await slow
    await h.openai.chat.completions.create({ model: 'gpt-4o-mini', ...chat })
  })

  it('counts shadow limits and reports them, but serves every call', async () => {
    const tenant = uniqueTenant()
    const h = await harness({
      tenant,
      extra: policyYaml('trial', tenant, [
        'shadow: true',
        'limits:',
        '  - { name: tight, requestsPerMinute: 1 }',
      ]),
    })
    await freshMinute()
    for (let i = 0; i < 3; i++) await h.openai.chat.completions.create({ model: 'gpt-4o-mini', ...chat })
    expect(
      await metricValue(h.sidecar.adminUrl, 'tollgate_shadow_limit_exceeded_total', {
        limit: 'policy.trial.tight',
      }),
    ).toBe(2)
  })

  it('answers 403 for a suspended tenant before any limit is counted', async () => {
    const tenant = uniqueTenant()
    const h = await harness({ tenant, spec: ['suspended: true', 'limits: { requestsPerMinute: 1 }'] })
    for (let i = 0; i < 2; i++) {
      const error = openaiError(
        await h.openai.chat.completions.create({ model: 'gpt-4o-mini', ...chat }).catch((e) => e),
      )
      expect([error.status, error.code]).toEqual([403, 'TOLLGATE_ERR_TENANT_SUSPENDED'])
    }
  })
})

describe('limits shared through Redis', () => {
  it('two sidecar processes sharing Redis enforce one limit', async () => {
    const tenant = uniqueTenant()
    const file = await writeConfig(
      tenantYaml({ name: tenant, baseURL: fake.url, spec: ['limits: { requestsPerMinute: 6 }'] }),
    )
    const children = [startSidecarProcess(file, redisUrl), startSidecarProcess(file, redisUrl)]
    try {
      const urls = await Promise.all(children.map((c) => c.url))
      const clients = urls.map(
        (url) => new OpenAI({ apiKey: PLACEHOLDER_KEY, baseURL: `${url}/openai/v1`, maxRetries: 0 }),
      )
      await freshMinute()
      const statuses: number[] = []
      for (let i = 0; i < 10; i++) {
        const client = clients[i % 2] as OpenAI
        statuses.push(
          await client.chat.completions.create({ model: 'gpt-4o-mini', ...chat }).then(
            () => 200,
            (e) => openaiError(e).status ?? 0,
          ),
        )
      }
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429, 429, 429])
    } finally {
      for (const c of children) await c.stop()
    }
  })

  it('200 concurrent calls against tokensPerMinute through two sidecars admit no more tokens than the limit: ' +
    'every estimate is at least the call’s real tokens (max_tokens bounds the output, the prompt ' +
    'is estimated at 3 bytes a token where the fake counts 4 characters), so reserved ≥ real at all times', async () => {
    const tenant = uniqueTenant()
    const limit = 3_000
    const spec = [`limits: { tokensPerMinute: ${limit} }`]
    const [a, b] = [
      await harness({ tenant, spec, flags: ['--redis', redisUrl] }),
      await harness({ tenant, spec, flags: ['--redis', redisUrl] }),
    ]
    const body = { model: 'gpt-4o-mini', max_tokens: 16, ...chat }
    const estimate = estimateTokens('openai', '/v1/chat/completions', body).total
    await freshMinute()
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        ((i % 2 ? a : b) as Harness).openai.chat.completions.create(body).then(
          (r) => ({ ok: true as const, tokens: r.usage?.total_tokens ?? Number.NaN }),
          (e) => ({ ok: false as const, status: openaiError(e).status }),
        ),
      ),
    )
    const admitted = results.filter((r) => r.ok)
    const refused = results.filter((r) => !r.ok)
    expect(refused.every((r) => r.status === 429)).toBe(true)
    expect(admitted.length).toBeGreaterThanOrEqual(Math.floor(limit / estimate))
    for (const r of admitted) expect(r.tokens).toBeLessThanOrEqual(estimate)
    expect(admitted.reduce((sum, r) => sum + r.tokens, 0)).toBeLessThanOrEqual(limit)
    expect(refused.length).toBeGreaterThan(0)
  }, 60_000) // freshMinute may wait 20 s for a minute the 200 calls fit in, before two sidecars start

  it('200 concurrent calls whose real tokens exceed their estimate through two sidecars: the tokens ' +
    'admitted in the window stay within the limit plus the under-estimates of the calls admitted, ' +
    'and once settled the window refuses the next call', async ({ annotate }) => {
    const tenant = uniqueTenant()
    const limit = 20_000
    const spec = [`limits: { tokensPerMinute: ${limit} }`]
    const [a, b] = [
      await harness({ tenant, spec, flags: ['--redis', redisUrl] }),
      await harness({ tenant, spec, flags: ['--redis', redisUrl] }),
    ]
    const body = { model: 'gpt-4o-mini', max_completion_tokens: 16, ...chat }
    const estimate = estimateTokens('openai', '/v1/chat/completions', body).total
    // the fake caps the words at max_completion_tokens but adds the reasoning on top, as a model
    // whose reasoning the bound does not cover would: every call uses more than its estimate
    const over = { headers: { 'x-fake-reasoning-tokens': '200' } }
    await freshMinute(30)
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        ((i % 2 ? a : b) as Harness).openai.chat.completions.create(body, over).then(
          (r) => ({ ok: true as const, tokens: r.usage?.total_tokens ?? Number.NaN }),
          (e) => ({ ok: false as const, status: openaiError(e).status }),
        ),
      ),
    )
    const admitted = results.filter((r) => r.ok)
    expect(results.filter((r) => !r.ok).every((r) => r.status === 429)).toBe(true)
    const real = admitted.reduce((sum, r) => sum + r.tokens, 0)
    const under = admitted.reduce((sum, r) => sum + Math.max(0, r.tokens - estimate), 0)
    for (const r of admitted) expect(r.tokens).toBeGreaterThan(estimate)
    // reserved units never pass the limit, so no more calls are admitted than estimates fit
    expect(admitted.length).toBeLessThanOrEqual(Math.floor(limit / estimate))
    // the stated bound: real ≤ limit + Σ (real − estimate) over the admitted calls
    expect(real).toBeLessThanOrEqual(limit + under)
    await annotate(
      `estimate ${estimate}, real ${admitted[0]?.tokens} tokens a call; admitted ${admitted.length} of 200; ` +
        `real tokens ${real} against a limit of ${limit} (over by ${real - limit}, bound ${under})`,
    )
    // settled at the real tokens, the window holds more than the limit: the next call is refused
    await vi.waitFor(
      async () =>
        expect(
          Number(await redis.get(keys.window(tenant, 'tenant', 'tpm', Math.floor(Date.now() / 60_000) * 60))),
        ).toBe(real),
      { timeout: 10_000 },
    )
    const next = openaiError(await a.openai.chat.completions.create(body).catch((e) => e))
    expect(next.status).toBe(429)
  }, 60_000)

  it('settles the reservation to the real token count', async () => {
    const tenant = uniqueTenant()
    const h = await harness({
      tenant,
      spec: ['limits: { tokensPerMinute: 100000 }'],
      flags: ['--redis', redisUrl],
    })
    await freshMinute()
    const minute = Math.floor(Date.now() / 60_000) * 60
    const r = await h.openai.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 500, ...chat })
    const key = keys.window(tenant, 'tenant', 'tpm', minute)
    await vi.waitFor(async () => expect(Number(await redis.get(key))).toBe(r.usage?.total_tokens))
  })
})
