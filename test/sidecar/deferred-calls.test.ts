import Anthropic from '@anthropic-ai/sdk'
import { compilePrice, DEFAULT_PRICES, keys, usageHour } from '@tollgate/api'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import type { RedisClient } from '../../operator/src/redis/redis-client.ts'
import { costNano, emptyUsage, priceOf, type Usage } from '../../sidecar/src/usage/usage.ts'
import { type FakeProvider, startFakeProvider } from '../fake-provider/fake-provider.ts'
import { usedOf } from '../support/leases.ts'
import { stackRedis } from '../support/redis.ts'
import { type Harness, PLACEHOLDER_KEY, REAL_KEY, startHarness } from './harness.ts'
import { uniqueTenant } from './policy.ts'

// A governed batch or background Response is charged its estimate when submitted; once a read
// of it carries its final usage (the retrieved batch or Response, an Anthropic batch's results),
// the estimate is replaced by that usage at the batch or list price: in the usage counters (the
// ledger) and in the spend it was charged, exactly once, whichever replica reads it.

const { redisUrl } = inject('stack')
const WAIT = { timeout: 10_000, interval: 50 }
const PRICES = DEFAULT_PRICES.map(compilePrice)
const GOVERN = 'endpoints: { batches: govern, backgroundResponses: govern }'
const PROVIDERS = [
  `{ name: oai, type: openai, baseURL: "http://FAKE", ${GOVERN} }`,
  `{ name: claude, type: anthropic, baseURL: "http://FAKE", ${GOVERN}, credentialsSecretRef: { namespace: tollgate-system, name: anthropic-key, key: apiKey } }`,
]
const question = [{ role: 'user' as const, content: 'Tell me about toll gates.' }]

let fake: FakeProvider
const harnesses: Harness[] = []
beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: REAL_KEY })
})
afterAll(async () => {
  for (const h of harnesses) await h.close()
  await fake?.close()
})

const harness = async (tenant: string, flags: string[] = []) => {
  const h = await startHarness({
    tenant,
    fake,
    flags,
    providers: PROVIDERS,
    spec: ['budgets: [{ period: day, limitUSD: "100" }]'],
  })
  harnesses.push(h)
  return h
}

const clients = (h: Harness) => ({
  openai: new OpenAI({ apiKey: PLACEHOLDER_KEY, baseURL: `${h.sidecar.proxyUrl}/oai/v1`, maxRetries: 0 }),
  anthropicBase: `${h.sidecar.proxyUrl}/claude`,
})

/** listCost is what the provider bills for usage of a model: the list price, halved for a batch. */
const listCost = (family: 'openai' | 'anthropic', model: string, usage: Usage, batch: boolean) =>
  costNano(priceOf(PRICES, family, model), usage, batch)

/** submitOpenAiBatch uploads three chat requests and creates a batch of them through the sidecar. */
async function submitOpenAiBatch(h: Harness) {
  const { openai } = clients(h)
  const line = (i: number) =>
    JSON.stringify({
      custom_id: `r${i}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'gpt-4o-mini', max_completion_tokens: 500, messages: question },
    })
  const file = await openai.files.create({
    file: new File([[0, 1, 2].map(line).join('\n')], 'batch.jsonl'),
    purpose: 'batch',
  })
  return openai.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  })
}

/** finalOf is the usage the fake billed a batch (its batch object, read directly). */
async function billedBatch(h: Harness, id: string): Promise<Usage> {
  const batch = await h.directOpenAI.batches.retrieve(id)
  const u = batch.usage
  if (!u) throw new Error('the fake reports no usage for the batch')
  return {
    ...emptyUsage(),
    inputTokens: u.input_tokens,
    outputTokens: u.output_tokens,
    cachedInputTokens: u.input_tokens_details.cached_tokens,
    reasoningTokens: u.output_tokens_details.reasoning_tokens,
  }
}

describe('deferred calls in a standalone sidecar', () => {
  it('an OpenAI batch is charged its estimate, then its billed usage once it is retrieved final, once', async () => {
    const h = await harness(uniqueTenant('batch-oai'))
    const batch = await submitOpenAiBatch(h)
    expect(batch.status).toBe('validating')
    // at submission: three requests of at most 500 output tokens
    await vi.waitFor(
      () => expect(h.usage('oai', 'gpt-4o-mini')).toMatchObject({ requests: 1, outputTokens: 1500 }),
      WAIT,
    )

    const billed = await billedBatch(h, batch.id)
    expect(billed.outputTokens).toBeLessThan(1500)
    const { openai } = clients(h)
    expect((await openai.batches.retrieve(batch.id)).status).toBe('completed')
    const settled = {
      requests: 1,
      inputTokens: billed.inputTokens,
      outputTokens: billed.outputTokens,
      costNano: listCost('openai', 'gpt-4o-mini', billed, true),
    }
    await vi.waitFor(() => expect(h.usage('oai', 'gpt-4o-mini')).toMatchObject(settled), WAIT)

    // a second read settles nothing more
    await openai.batches.retrieve(batch.id)
    await openai.batches.retrieve(batch.id)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(h.usage('oai', 'gpt-4o-mini')).toMatchObject(settled)
  })

  it('a background Response is charged its estimate, then its usage once retrieved; reading it again counts nothing', async () => {
    const h = await harness(uniqueTenant('background'))
    const { openai } = clients(h)
    const queued = await openai.responses.create({
      model: 'gpt-4o-mini',
      input: 'Tell me about toll gates.',
      max_output_tokens: 800,
      background: true,
    })
    expect(queued.status).toBe('queued')
    await vi.waitFor(() => expect(h.usage('oai', 'gpt-4o-mini')).toMatchObject({ outputTokens: 800 }), WAIT)

    const done = await openai.responses.retrieve(queued.id)
    expect(done.status).toBe('completed')
    const u = done.usage
    if (!u) throw new Error('no usage')
    const billed = { ...emptyUsage(), inputTokens: u.input_tokens, outputTokens: u.output_tokens }
    const settled = {
      requests: 1,
      inputTokens: u.input_tokens,
      outputTokens: u.output_tokens,
      costNano: listCost('openai', 'gpt-4o-mini', billed, false),
    }
    await vi.waitFor(() => expect(h.usage('oai', 'gpt-4o-mini')).toMatchObject(settled), WAIT)
    // reads of a stored Response bill nothing: they add no tokens
    await openai.responses.retrieve(queued.id)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(h.usage('oai', 'gpt-4o-mini')).toMatchObject(settled)
  })

  it('an Anthropic message batch is settled when its results are read to the end', async () => {
    const h = await harness(uniqueTenant('batch-claude'))
    const headers = {
      'content-type': 'application/json',
      'x-api-key': PLACEHOLDER_KEY,
      'anthropic-version': '2023-06-01',
    }
    const base = clients(h).anthropicBase
    const created = await fetch(`${base}/v1/messages/batches`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        requests: [1, 2].map((i) => ({
          custom_id: `r${i}`,
          params: { model: 'claude-haiku-4-5', max_tokens: 1000, messages: question },
        })),
      }),
    })
    expect(created.status).toBe(200)
    const { id } = (await created.json()) as { id: string }
    await vi.waitFor(
      () => expect(h.usage('claude', 'claude-haiku-4-5')).toMatchObject({ requests: 1, outputTokens: 2000 }),
      WAIT,
    )

    const results = await fetch(`${base}/v1/messages/batches/${id}/results`, { headers })
    expect(results.status).toBe(200)
    const billed = emptyUsage()
    for (const line of (await results.text()).trim().split('\n')) {
      const usage = (JSON.parse(line) as { result: { message: { usage: Record<string, number> } } }).result
        .message.usage
      billed.inputTokens += (usage.input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0)
      billed.outputTokens += usage.output_tokens ?? 0
    }
    expect(billed.outputTokens).toBeLessThan(2000)
    await vi.waitFor(
      () =>
        expect(h.usage('claude', 'claude-haiku-4-5')).toMatchObject({
          requests: 1,
          inputTokens: billed.inputTokens,
          outputTokens: billed.outputTokens,
          costNano: listCost('anthropic', 'claude-haiku-4-5', billed, true),
        }),
      WAIT,
    )
  })
})

describe('an Anthropic message batch through the official SDK', () => {
  it('reads its results through the sidecar (results_url points at it), and is settled by that read', async () => {
    const h = await harness(uniqueTenant('batch-sdk'))
    const claude = new Anthropic({
      apiKey: PLACEHOLDER_KEY,
      baseURL: clients(h).anthropicBase,
      maxRetries: 0,
    })
    const created = await claude.messages.batches.create({
      requests: [1, 2, 3].map((i) => ({
        custom_id: `r${i}`,
        params: { model: 'claude-haiku-4-5', max_tokens: 700, messages: question },
      })),
    })
    expect(created.results_url).toBeNull()
    const ended = await claude.messages.batches.retrieve(created.id)
    expect(ended.processing_status).toBe('ended')
    expect(ended.results_url).toBe(`${clients(h).anthropicBase}/v1/messages/batches/${created.id}/results`)
    const listed = await claude.messages.batches.list()
    expect(listed.data.find((b) => b.id === created.id)?.results_url).toBe(ended.results_url)

    const billed = emptyUsage()
    for await (const line of await claude.messages.batches.results(created.id)) {
      if (line.result.type !== 'succeeded') throw new Error(`request ${line.custom_id} ${line.result.type}`)
      billed.inputTokens += line.result.message.usage.input_tokens
      billed.outputTokens += line.result.message.usage.output_tokens
    }
    expect(billed.outputTokens).toBeGreaterThan(0)
    await vi.waitFor(
      () =>
        expect(h.usage('claude', 'claude-haiku-4-5')).toMatchObject({
          inputTokens: billed.inputTokens,
          outputTokens: billed.outputTokens,
          costNano: listCost('anthropic', 'claude-haiku-4-5', billed, true),
        }),
      WAIT,
    )
  })
})

describe('deferred calls with Redis', () => {
  let redis: RedisClient
  beforeAll(() => {
    redis = stackRedis(redisUrl)
  })
  afterAll(() => redis.disconnect())

  /** hourCounter sums a counter of gpt-4o-mini over every instance of the hour (sidecars, corrections). */
  const hourCounter = async (tenant: string, hour: string, counter: string) => {
    const hash = await redis.hgetall(keys.usage(tenant, hour))
    const prefix = `oai|gpt-4o-mini|default|${counter}|`
    return Object.entries(hash)
      .filter(([field]) => field.startsWith(prefix))
      .reduce((sum, [, value]) => sum + Number(value), 0)
  }
  /** spend is today's spend counter less the unused leases charged on it in advance. */
  const spend = (tenant: string) =>
    usedOf(
      redis,
      keys.spend(tenant, 'day', new Date().toISOString().slice(0, 10)),
      keys.spendLeases(tenant, 'day'),
    )

  it('a batch submitted through one replica is settled by a read through another, in the ledger and the spend, once', async () => {
    const tenant = uniqueTenant('batch-replicas')
    const a = await harness(tenant, ['--redis', redisUrl])
    const b = await harness(tenant, ['--redis', redisUrl])
    const hour = usageHour(new Date())
    const batch = await submitOpenAiBatch(a)
    await vi.waitFor(async () => expect(await hourCounter(tenant, hour, 'outputTokens')).toBe(1500), WAIT)
    const estimate = await hourCounter(tenant, hour, 'costNano')
    await vi.waitFor(async () => expect(await spend(tenant)).toBe(estimate), WAIT)

    const billed = await billedBatch(a, batch.id)
    const cost = listCost('openai', 'gpt-4o-mini', billed, true)
    expect((await clients(b).openai.batches.retrieve(batch.id)).status).toBe('completed')
    await vi.waitFor(
      async () => expect(await hourCounter(tenant, hour, 'outputTokens')).toBe(billed.outputTokens),
      WAIT,
    )
    expect(await hourCounter(tenant, hour, 'inputTokens')).toBe(billed.inputTokens)
    expect(await hourCounter(tenant, hour, 'costNano')).toBe(cost)
    expect(await spend(tenant)).toBe(cost)
    expect(await redis.sismember(keys.usageHours(tenant), hour)).toBe(1)
    expect(await redis.exists(keys.deferred(tenant, 'oai', batch.id))).toBe(0)

    // both replicas reading it again change nothing
    await clients(a).openai.batches.retrieve(batch.id)
    await clients(b).openai.batches.retrieve(batch.id)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await hourCounter(tenant, hour, 'outputTokens')).toBe(billed.outputTokens)
    expect(await spend(tenant)).toBe(cost)
  })

  it('a batch whose submission hour left Redis long ago is still corrected in that hour, as an instance of its own', async () => {
    const tenant = uniqueTenant('batch-late')
    const h = await harness(tenant, ['--redis', redisUrl])
    const batch = await submitOpenAiBatch(h)
    const key = keys.deferred(tenant, 'oai', batch.id)
    await vi.waitFor(async () => expect(await redis.exists(key)).toBe(1), WAIT)
    // as if submitted three days ago: that hour was flushed, released and has expired
    const entry = JSON.parse((await redis.get(key)) ?? '{}') as { at: number }
    entry.at -= 3 * 24 * 3_600_000
    await redis.set(key, JSON.stringify(entry), 'KEEPTTL')
    const then = usageHour(new Date(entry.at))
    expect(await redis.exists(keys.usage(tenant, then))).toBe(0)

    const billed = await billedBatch(h, batch.id)
    await clients(h).openai.batches.retrieve(batch.id)
    await vi.waitFor(async () => expect(await redis.exists(key)).toBe(0), WAIT)
    // the correction alone is in that hour (final - estimate), and the hour waits for the operator
    expect(await hourCounter(tenant, then, 'outputTokens')).toBe(billed.outputTokens - 1500)
    expect(await redis.sismember(keys.usageHours(tenant), then)).toBe(1)
  })
})
