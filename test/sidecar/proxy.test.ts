import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type Harness, PLACEHOLDER_KEY, REAL_KEY, startHarness } from './harness.ts'

// gpt-4o-mini: $0.15 / $0.075 cached / $0.60 per million tokens = 150 / 75 / 600 nano-dollars per token.
const miniCost = (input: number, cached: number, output: number) =>
  (input - cached) * 150 + cached * 75 + output * 600
// claude-haiku-4-5: $1 / $0.10 cached / $1.25 5-minute cache write / $5 per million = 1000 / 100 /
// 1250 / 5000 nano-dollars per token.
const haikuCost = (input: number, cached: number, output: number, written = 0) =>
  (input - cached - written) * 1000 + cached * 100 + written * 1250 + output * 5000

const chat = { messages: [{ role: 'user' as const, content: 'Tell me about toll gates.' }] }
const claude = {
  max_tokens: 200,
  messages: [{ role: 'user' as const, content: 'Tell me about toll gates.' }],
}

let h: Harness
beforeAll(async () => {
  h = await startHarness({
    providers: [
      // an OpenAI-compatible server whose base URL has a path; its key from the same Secret
      '{ name: compat, type: openai-compatible, baseURL: "http://FAKE/v1", credentialsSecretRef: { namespace: tollgate-system, name: anthropic-key, key: apiKey } }',
    ],
  })
})
afterAll(async () => {
  await h?.close()
  // every test of this file ran with trace-level logs: no key may appear in any line
  const all = h.logs.join('')
  expect(h.logs.length).toBeGreaterThan(10)
  expect(all).not.toContain(REAL_KEY)
  expect(all).not.toContain(PLACEHOLDER_KEY)
})

describe('OpenAI through the sidecar', () => {
  it('answers a plain chat completion as the provider does, with the real key set by the sidecar', async () => {
    const direct = await h.directOpenAI.chat.completions.create({ model: 'gpt-4o-mini', ...chat })
    const via = await h.openai.chat.completions.create({ model: 'gpt-4o-mini', ...chat })
    expect(via.choices[0]?.message.content).toBe(direct.choices[0]?.message.content)
    expect(via.usage).toEqual(direct.usage)
    const seen = h.fake.requests.at(-1)
    expect(seen?.headers.authorization).toBe(`Bearer ${REAL_KEY}`)
    expect(JSON.stringify(h.fake.requests.at(-1)?.headers)).not.toContain(PLACEHOLDER_KEY)
  })

  it('streams the same content and hides the usage chunk the client did not ask for', async () => {
    const direct = await h.directOpenAI.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      ...chat,
    })
    let directText = ''
    for await (const chunk of direct) directText += chunk.choices[0]?.delta?.content ?? ''
    const stream = await h.openai.chat.completions.create({ model: 'gpt-4o-mini', stream: true, ...chat })
    let text = ''
    const usageChunks: unknown[] = []
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? ''
      if (chunk.usage) usageChunks.push(chunk.usage)
    }
    expect(text).toBe(directText)
    expect(usageChunks).toEqual([])
    // the sidecar asked the provider for usage all the same
    expect(h.fake.requests.at(-1)?.body).toMatchObject({ stream_options: { include_usage: true } })
  })

  it('keeps the usage chunk when the client asked for it', async () => {
    const stream = await h.openai.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      ...chat,
    })
    const usage: unknown[] = []
    for await (const chunk of stream) if (chunk.usage) usage.push(chunk.usage)
    expect(usage).toHaveLength(1)
    expect(usage[0]).toMatchObject({
      prompt_tokens: expect.any(Number),
      completion_tokens: expect.any(Number),
    })
  })

  it('records tokens and cost equal to what the provider reported, cached and reasoning included', async () => {
    const before = h.usage('openai', 'gpt-4o-mini')
    const plain = await h.openai.chat.completions.create(
      { model: 'gpt-4o-mini', ...chat },
      {
        headers: {
          'x-fake-cached-tokens': '40',
          'x-fake-reasoning-tokens': '7',
          'x-fake-output-tokens': '20',
        },
      },
    )
    const stream = await h.openai.chat.completions.create(
      { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, ...chat },
      { headers: { 'x-fake-cached-tokens': '12', 'x-fake-output-tokens': '9' } },
    )
    let streamed:
      | {
          prompt_tokens: number
          completion_tokens: number
          prompt_tokens_details?: { cached_tokens?: number }
        }
      | undefined
    for await (const chunk of stream) if (chunk.usage) streamed = chunk.usage
    const a = plain.usage
    if (!a || !streamed) throw new Error('the fake reported no usage')
    expect(a.prompt_tokens_details?.cached_tokens).toBe(40)
    expect(a.completion_tokens_details?.reasoning_tokens).toBe(7)
    const after = h.usage('openai', 'gpt-4o-mini')
    const cachedB = streamed.prompt_tokens_details?.cached_tokens ?? 0
    expect(after.requests - before.requests).toBe(2)
    expect(after.inputTokens - before.inputTokens).toBe(a.prompt_tokens + streamed.prompt_tokens)
    expect(after.outputTokens - before.outputTokens).toBe(a.completion_tokens + streamed.completion_tokens)
    expect(after.cachedInputTokens - before.cachedInputTokens).toBe(40 + cachedB)
    expect(after.reasoningTokens - before.reasoningTokens).toBe(7)
    expect(after.costNano - before.costNano).toBe(
      miniCost(a.prompt_tokens, 40, a.completion_tokens) +
        miniCost(streamed.prompt_tokens, cachedB, streamed.completion_tokens),
    )
  })

  it('reads usage from the Responses API, plain and streamed', async () => {
    const before = h.usage('openai', 'gpt-4o-mini')
    const plain = await h.openai.responses.create({ model: 'gpt-4o-mini', input: 'Say hi.' })
    const stream = await h.openai.responses.create({ model: 'gpt-4o-mini', input: 'Say hi.', stream: true })
    let completed: typeof plain.usage
    for await (const event of stream)
      if (event.type === 'response.completed') completed = event.response.usage
    const direct = await h.directOpenAI.responses.create({ model: 'gpt-4o-mini', input: 'Say hi.' })
    expect(plain.output_text).toBe(direct.output_text)
    const after = h.usage('openai', 'gpt-4o-mini')
    expect(after.inputTokens - before.inputTokens).toBe(
      (plain.usage?.input_tokens ?? 0) + (completed?.input_tokens ?? 0),
    )
    expect(after.outputTokens - before.outputTokens).toBe(
      (plain.usage?.output_tokens ?? 0) + (completed?.output_tokens ?? 0),
    )
  })

  it('reads usage from embeddings', async () => {
    const before = h.usage('openai', 'text-embedding-3-small')
    const result = await h.openai.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['a toll gate', 'a road'],
    })
    expect(result.data).toHaveLength(2)
    const after = h.usage('openai', 'text-embedding-3-small')
    expect(after.inputTokens - (before.inputTokens ?? 0)).toBe(result.usage.prompt_tokens)
    expect(after.costNano - (before.costNano ?? 0)).toBe(result.usage.prompt_tokens * 20)
  })

  it("returns the provider's request id and its own in x-tollgate-request-id", async () => {
    const { response } = await h.openai.chat.completions
      .create({ model: 'gpt-4o-mini', ...chat })
      .withResponse()
    expect(response.headers.get('x-request-id')).toMatch(/^req_fake_/)
    const own = response.headers.get('x-tollgate-request-id')
    expect(own).toMatch(/^[0-9a-f-]{36}$/)
    expect(h.fake.requests.at(-1)?.headers['x-request-id']).toBe(own)
    // access lines go out in batches, within 100 ms of the call
    await vi.waitFor(() => expect(h.logs.some((line) => line.includes(`"requestId":"${own}"`))).toBe(true))
  })

  it('proxies a model listing without a body', async () => {
    const models = await h.openai.models.list()
    expect(models.data.length).toBeGreaterThan(0)
  })

  it('adds include_usage to stream_options the client sent, and still hides the usage chunk', async () => {
    const stream = await h.openai.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_obfuscation: false },
      ...chat,
    })
    const usage: unknown[] = []
    for await (const chunk of stream) if (chunk.usage) usage.push(chunk.usage)
    expect(usage).toEqual([])
    expect(h.fake.requests.at(-1)?.body).toMatchObject({
      stream_options: { include_obfuscation: false, include_usage: true },
    })
  })

  it('routes an openai-compatible provider under its own name, keeping the path of its base URL', async () => {
    const compat = new OpenAI({
      apiKey: PLACEHOLDER_KEY,
      baseURL: `${h.sidecar.proxyUrl}/compat`,
      maxRetries: 0,
    })
    const before = h.usage('compat', 'gpt-4o-mini')
    const answer = await compat.chat.completions.create({ model: 'gpt-4o-mini', ...chat })
    const seen = h.fake.requests.at(-1)
    expect(seen?.path).toBe('/v1/chat/completions')
    expect(seen?.headers.authorization).toBe(`Bearer ${REAL_KEY}`)
    expect((h.usage('compat', 'gpt-4o-mini').outputTokens ?? 0) - (before.outputTokens ?? 0)).toBe(
      answer.usage?.completion_tokens,
    )
  })

  it('passes the app traceparent on when tracing is off', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    await h.openai.chat.completions.create({ model: 'gpt-4o-mini', ...chat }, { headers: { traceparent } })
    expect(h.fake.requests.at(-1)?.headers.traceparent).toBe(traceparent)
  })
})

describe('Anthropic through the sidecar', () => {
  it('answers a message as the provider does, with the key from the Secret in x-api-key', async () => {
    const direct = await h.directAnthropic.messages.create({ model: 'claude-haiku-4-5', ...claude })
    const via = await h.anthropic.messages.create({ model: 'claude-haiku-4-5', ...claude })
    expect(via.content).toEqual(direct.content)
    expect(via.usage).toEqual(direct.usage)
    const seen = h.fake.requests.at(-1)
    expect(seen?.headers['x-api-key']).toBe(REAL_KEY)
    expect(seen?.headers.authorization).toBeUndefined()
  })

  it('streams the same text and records the cumulative usage of message_delta', async () => {
    const before = h.usage('anthropic', 'claude-haiku-4-5')
    const direct = await h.directAnthropic.messages
      .stream({ model: 'claude-haiku-4-5', ...claude })
      .finalMessage()
    const stream = h.anthropic.messages.stream(
      { model: 'claude-haiku-4-5', ...claude },
      {
        headers: {
          'x-fake-cached-tokens': '30',
          'x-fake-cache-creation-tokens': '5',
          'x-fake-output-tokens': '15',
        },
      },
    )
    const message = await stream.finalMessage()
    expect(
      (await h.anthropic.messages.stream({ model: 'claude-haiku-4-5', ...claude }).finalText()).length,
    ).toBeGreaterThan(0)
    expect(message.content.length).toBe(direct.content.length)
    const u = message.usage
    const input = u.input_tokens + (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0)
    expect(u.cache_read_input_tokens).toBe(30)
    const after = h.usage('anthropic', 'claude-haiku-4-5')
    const last = h.fake.requests.at(-1)
    expect(last?.headers['x-api-key']).toBe(REAL_KEY)
    // two streams since `before`: the one with cache tokens and a plain one; check the first one's share
    const plainIn = after.inputTokens - before.inputTokens - input
    const plainOut = after.outputTokens - before.outputTokens - u.output_tokens
    expect(plainIn).toBeGreaterThan(0)
    expect(u.output_tokens).toBe(15)
    expect(after.cachedInputTokens - before.cachedInputTokens).toBe(30)
    expect(after.costNano - before.costNano).toBe(
      haikuCost(input, 30, 15, 5) + haikuCost(plainIn, 0, plainOut),
    )
  })

  it('counts tokens without recording any token usage', async () => {
    const before = h.usage('anthropic', 'claude-haiku-4-5')
    const count = await h.anthropic.messages.countTokens({
      model: 'claude-haiku-4-5',
      messages: claude.messages,
    })
    expect(count.input_tokens).toBeGreaterThan(0)
    const after = h.usage('anthropic', 'claude-haiku-4-5')
    expect(after.requests - before.requests).toBe(1)
    expect(after.inputTokens).toBe(before.inputTokens)
  })
})

describe('client abort', () => {
  it.each([
    [
      'openai',
      () =>
        h.openai.chat.completions.create(
          { model: 'gpt-4o-mini', stream: true, ...chat },
          { headers: { 'x-fake-stall-after': '3' } },
        ),
    ],
    [
      'anthropic',
      () =>
        h.anthropic.messages.create(
          { model: 'claude-haiku-4-5', stream: true, ...claude },
          { headers: { 'x-fake-stall-after': '3' } },
        ),
    ],
  ] as const)('%s: reaches the provider at once and still records what was used', async (provider, start) => {
    const model = provider === 'openai' ? 'gpt-4o-mini' : 'claude-haiku-4-5'
    const before = h.usage(provider, model)
    const aborted = new Promise((resolve) => h.fake.once('abort', resolve))
    const stream = await start()
    let events = 0
    for await (const _ of stream as AsyncIterable<unknown>) if (++events === 3) break
    await aborted
    expect(h.fake.requests.at(-1)?.aborted).toBe(true)
    await vi.waitFor(() => expect(h.usage(provider, model).requests - before.requests).toBe(1))
    const after = h.usage(provider, model)
    expect(after.outputTokens - before.outputTokens).toBeGreaterThanOrEqual(2)
    expect(after.inputTokens - before.inputTokens).toBeGreaterThan(0)
    expect(after.costNano - before.costNano).toBeGreaterThan(0)
  })
})

describe('metrics', () => {
  it('shows requests, latency, time to first token, tokens, cost and process metrics on /metrics', async () => {
    const text = await (await fetch(`${h.sidecar.adminUrl}/metrics`)).text()
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN)
    expect(
      value(/tollgate_requests_total\{[^}]*provider="openai",model="gpt-4o-mini",status="200"[^}]*\} (\d+)/),
    ).toBeGreaterThan(0)
    expect(
      value(
        /tollgate_requests_total\{[^}]*provider="anthropic",model="claude-haiku-4-5",status="200"[^}]*\} (\d+)/,
      ),
    ).toBeGreaterThan(0)
    expect(
      value(
        /tollgate_request_duration_seconds_count\{[^}]*provider="openai",model="gpt-4o-mini"[^}]*\} (\d+)/,
      ),
    ).toBeGreaterThan(0)
    expect(
      value(/tollgate_time_to_first_token_seconds_count\{[^}]*provider="openai"[^}]*\} (\d+)/),
    ).toBeGreaterThan(0)
    expect(
      value(/tollgate_tokens_total\{[^}]*model="gpt-4o-mini",type="output"[^}]*\} (\d+)/),
    ).toBeGreaterThan(0)
    expect(
      value(/tollgate_tokens_total\{[^}]*model="gpt-4o-mini",type="cached_input"[^}]*\} (\d+)/),
    ).toBeGreaterThan(0)
    expect(value(/tollgate_cost_usd_total\{[^}]*model="claude-haiku-4-5"[^}]*\} ([\d.e-]+)/)).toBeGreaterThan(
      0,
    )
    expect(text).toMatch(/tollgate_request_duration_seconds_bucket\{le="120",/)
    expect(text).toMatch(/process_resident_memory_bytes/)
    expect(text).toMatch(/tenant="acme"/)
  })

  it('reports health, readiness and the config without secrets', async () => {
    expect((await fetch(`${h.sidecar.adminUrl}/healthz`)).status).toBe(200)
    const ready = await fetch(`${h.sidecar.adminUrl}/readyz`)
    expect(ready.status).toBe(200)
    const config = await (await fetch(`${h.sidecar.adminUrl}/config`)).text()
    expect(JSON.parse(config)).toMatchObject({
      mode: 'standalone',
      tenant: 'acme',
      credentials: {
        openai: '$OPENAI_API_KEY',
        anthropic: 'Secret tollgate-system/anthropic-key',
        compat: 'Secret tollgate-system/anthropic-key',
      },
      config: { tenant: 'acme', providers: [{ name: 'openai' }, { name: 'anthropic' }, { name: 'compat' }] },
    })
    expect(config).not.toContain(REAL_KEY)
  })
})
