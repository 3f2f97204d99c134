import { keys, usageHour } from '@tollgate/api'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import type { RedisClient } from '../../operator/src/redis/redis-client.ts'
import { estimateTokens } from '../../sidecar/src/limits/estimate.ts'
import { type FakeProvider, startFakeProvider } from '../fake-provider/fake-provider.ts'
import { usedOf } from '../support/leases.ts'
import { stackRedis, usageCounter } from '../support/redis.ts'
import { type Harness, REAL_KEY, startHarness } from './harness.ts'
import { freshMinute, uniqueTenant } from './policy.ts'

// What a call is counted at: the usage the provider reported, read by structure, whatever the
// size of the answer or its events; a call that ended without a usage report counts its estimate.

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
/** redisUsage reads a counter the sidecar wrote to Redis for gpt-4o-mini this hour. */
const redisUsage = (tenant: string, counter: string) =>
  usageCounter(redis, keys.usage(tenant, usageHour(new Date())), 'openai|gpt-4o-mini|default', counter)

/** Under a loaded machine a flush or a settle can take a while: wait up to 10 s for them. */
const WAIT = { timeout: 10_000, interval: 50 }

const harness = async (opts: Parameters<typeof startHarness>[0] = {}) => {
  const h = await startHarness({ ...opts, fake })
  harnesses.push(h)
  return h
}

describe('usage is read by structure', () => {
  it('a Responses answer whose metadata holds a key named usage counts its real tokens', async () => {
    const h = await harness()
    const r = await h.openai.responses.create({
      model: 'gpt-4o-mini',
      input: 'Tell me about toll gates.',
      metadata: { usage: '{"input_tokens":0}', note: 'usage' },
    })
    expect(r.usage?.input_tokens).toBeGreaterThan(0)
    await vi.waitFor(
      () =>
        expect(h.usage('openai', 'gpt-4o-mini')).toMatchObject({
          inputTokens: r.usage?.input_tokens,
          outputTokens: r.usage?.output_tokens,
        }),
      WAIT,
    )
  })

  it('a Responses stream whose events echo 2 MiB of instructions counts its real tokens, and the limit sees them', async () => {
    const tenant = uniqueTenant()
    const instructions = 'Be brief. '.repeat(200_000)
    const body = {
      model: 'gpt-4o-mini',
      instructions,
      input: 'Tell me about toll gates.',
      max_output_tokens: 50,
    }
    const estimate = estimateTokens('openai', '/v1/responses', body).total
    // room for one estimate, not for the real tokens of one call plus a second estimate
    const h = await harness({
      tenant,
      spec: [`limits: { tokensPerMinute: ${estimate + 1000} }`],
      flags: ['--redis', redisUrl],
    })
    await freshMinute()
    let total = 0
    const stream = await h.openai.responses.create({ ...body, stream: true })
    for await (const event of stream)
      if (event.type === 'response.completed') total = event.response.usage?.total_tokens ?? 0
    expect(total).toBeGreaterThan(500_000)
    const minute = Math.floor(Date.now() / 60_000) * 60
    await vi.waitFor(
      async () =>
        expect(
          await usedOf(
            redis,
            keys.window(tenant, 'tenant', 'tpm', minute),
            keys.limitLeases(tenant, 'tenant', 'tpm'),
          ),
        ).toBe(total),
      WAIT,
    )
    await vi.waitFor(
      async () => expect(await redisUsage(tenant, 'inputTokens')).toBeGreaterThan(500_000),
      WAIT,
    )
    const second = await h.openai.responses.create(body).catch((e) => e)
    expect(second.status).toBe(429)
  })
})

describe('a call that ended without a usage report counts its estimate', () => {
  it('an aborted non-streamed call: the provider bills it, the reservation is not refunded', async () => {
    const tenant = uniqueTenant()
    const h = await harness({
      tenant,
      spec: ['limits: { tokensPerMinute: 1000000 }'],
      flags: ['--redis', redisUrl],
    })
    const body = { model: 'gpt-4o-mini', max_tokens: 300, ...chat }
    const estimate = estimateTokens('openai', '/v1/chat/completions', body)
    await freshMinute()
    const minute = Math.floor(Date.now() / 60_000) * 60
    const controller = new AbortController()
    const call = h.openai.chat.completions
      .create(body, { headers: { 'x-fake-stall-after': '0' }, signal: controller.signal })
      .catch((e) => e)
    const seen = await fake.waitForRequest((r) => r.headers['x-fake-stall-after'] === '0' && !r.ended)
    controller.abort()
    await call
    await fake.waitForAbort(seen.id)
    await vi.waitFor(async () => expect(await redisUsage(tenant, 'requests')).toBe(1), WAIT)
    expect(await redisUsage(tenant, 'inputTokens')).toBe(estimate.promptTokens)
    expect(await redisUsage(tenant, 'outputTokens')).toBe(300)
    // gpt-4o-mini: $0.15 in, $0.60 out
    expect(await redisUsage(tenant, 'costNano')).toBe(estimate.promptTokens * 150 + 300 * 600)
    await new Promise((resolve) => setTimeout(resolve, 300))
    // the counter less the unused leases charged on it in advance (docs/limits.md)
    const tpm = keys.window(tenant, 'tenant', 'tpm', minute)
    expect(await usedOf(redis, tpm, keys.limitLeases(tenant, 'tenant', 'tpm'))).toBe(estimate.total)
  })

  it('a stream cut before its usage counts the most output the call allowed, reasoning included', async () => {
    const h = await harness()
    const body = { model: 'o4-mini', max_completion_tokens: 400, ...chat }
    const before = h.usage('openai', 'o4-mini')
    const stream = await h.openai.chat.completions.create(
      { ...body, stream: true },
      { headers: { 'x-fake-stall-after': '3', 'x-fake-reasoning-tokens': '350' } },
    )
    let chunks = 0
    for await (const _ of stream) if (++chunks === 3) break
    await vi.waitFor(
      () => expect(h.usage('openai', 'o4-mini').requests - (before.requests ?? 0)).toBe(1),
      WAIT,
    )
    const after = h.usage('openai', 'o4-mini')
    expect(after.outputTokens - (before.outputTokens ?? 0)).toBe(400)
  })
})
