import Anthropic from '@anthropic-ai/sdk'
import type OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, PLACEHOLDER_KEY, startHarness } from './harness.ts'

// The cost the sidecar records (and the ledger copies) for a call is the provider's list price
// of what the provider reported, for every usage shape the fake provider can produce (cache reads
// and writes of both providers, reasoning, audio, images, long-context bands). Prices below are
// USD per million tokens, as nano-dollars per token (×1000), from the providers' pages.

const chat = { messages: [{ role: 'user' as const, content: 'Tell me about toll gates.' }] }

let h: Harness
beforeAll(async () => {
  h = await startHarness({ tenant: 'prices' })
})
afterAll(async () => h?.close())

/** delta runs a call and returns the counters it added to provider/model. */
async function delta(provider: string, model: string, call: () => Promise<unknown>) {
  const before = h.usage(provider, model)
  await call()
  const after = h.usage(provider, model)
  const d: Record<string, number> = {}
  for (const [k, v] of Object.entries(after)) d[k] = v - ((before as Record<string, number>)[k] ?? 0)
  return d
}

describe('models the price table used to miss cost their list price', () => {
  it.each([
    ['o1', 15_000, 7_500, 60_000],
    ['gpt-4-turbo', 10_000, 10_000, 30_000],
    ['gpt-3.5-turbo', 500, 500, 1_500],
  ])('%s', async (model, input, cached, output) => {
    let usage: OpenAI.CompletionUsage | undefined
    const d = await delta('openai', model, async () => {
      usage = (await h.openai.chat.completions.create({ model, ...chat })).usage
    })
    const prompt = usage?.prompt_tokens ?? 0
    const hit = usage?.prompt_tokens_details?.cached_tokens ?? 0
    expect(d.costNano).toBe((prompt - hit) * input + hit * cached + (usage?.completion_tokens ?? 0) * output)
    expect(d.costNano).toBeGreaterThan(0)
  })
})

describe('a fee without a price', () => {
  it.each([
    [
      'Anthropic fast mode',
      () => h.anthropic.messages.create({ model: 'claude-opus-4-6', max_tokens: 50, speed: 'fast', ...chat }),
    ],
    [
      'OpenAI priority processing',
      () => h.openai.chat.completions.create({ model: 'gpt-4o-mini', service_tier: 'priority', ...chat }),
    ],
    [
      'OpenAI web search tool',
      () =>
        h.openai.responses.create({
          model: 'gpt-4o-mini',
          input: 'toll gates',
          tools: [{ type: 'web_search' }],
        }),
    ],
    [
      'Anthropic code execution',
      () =>
        h.anthropic.messages.create({
          model: 'claude-opus-4-6',
          max_tokens: 50,
          tools: [{ type: 'code_execution_20250825', name: 'code_execution' }],
          ...chat,
        }),
    ],
  ])('%s is refused with a 403 naming the parameter, and nothing is sent', async (_name, call) => {
    const sent = h.fake.requests.length
    const error = (await call().catch((e) => e)) as InstanceType<typeof Anthropic.APIError>
    expect(error.status).toBe(403)
    expect(error.message).toMatch(
      /speed: fast|service_tier: priority|tools: web_search|tools: code_execution/,
    )
    expect(error.message).toContain('unpricedFees')
    expect(error.headers?.get('x-tollgate-error-code')).toBe('TOLLGATE_ERR_FEE_UNPRICED')
    expect(h.fake.requests.length).toBe(sent)
  })

  it('passes tools that cost only their tokens, and every fee once the tenant allows unpriced fees', async () => {
    const tool = { type: 'function' as const, name: 'toll', parameters: { type: 'object' }, strict: false }
    const r = await h.openai.responses.create({ model: 'gpt-4o-mini', input: 'toll gates', tools: [tool] })
    expect(r.status).toBe('completed')
    const allowing = await startHarness({ tenant: 'fees', spec: ['unpricedFees: allow'], fake: h.fake })
    try {
      const client = new Anthropic({
        apiKey: PLACEHOLDER_KEY,
        baseURL: `${allowing.sidecar.proxyUrl}/anthropic`,
        maxRetries: 0,
      })
      const m = await client.messages.create({
        model: 'claude-opus-4-6',
        max_tokens: 50,
        speed: 'fast',
        ...chat,
      })
      expect(m.usage.output_tokens).toBeGreaterThan(0)
    } finally {
      await allowing.close()
    }
  })
})

describe('a model without a price', () => {
  it('is refused by default with a 403 naming the model and how to price it', async () => {
    const sent = h.fake.requests.length
    const error = (await h.anthropic.messages
      .create({ model: 'claude-fable-5-2', max_tokens: 50, ...chat })
      .catch((e) => e)) as InstanceType<typeof Anthropic.APIError>
    expect(error.status).toBe(403)
    expect(error.message).toContain('claude-fable-5-2')
    expect(error.message).toContain('spec.pricing')
    expect(error.message).toContain('unpricedModels')
    expect((error.error as { error: { code: string } }).error.code).toBe('TOLLGATE_ERR_MODEL_UNPRICED')
    expect(h.fake.requests.length).toBe(sent)
  })

  it('with unpricedModels: estimate, is served and charged the highest price of its provider', async () => {
    const e = await startHarness({ tenant: 'estimates', spec: ['unpricedModels: estimate'], fake: h.fake })
    try {
      const client = new Anthropic({
        apiKey: PLACEHOLDER_KEY,
        baseURL: `${e.sidecar.proxyUrl}/anthropic`,
        maxRetries: 0,
      })
      const r = await client.messages.create({ model: 'claude-fable-5-2', max_tokens: 50, ...chat })
      const usage = e.usage('anthropic', 'claude-fable-5-2')
      // no Anthropic model in the table costs more than claude-opus-4: $15 in, $75 out
      expect(usage.costNano).toBeGreaterThanOrEqual(
        r.usage.input_tokens * 15_000 + r.usage.output_tokens * 75_000,
      )
    } finally {
      await e.close()
    }
  })
})

describe('every usage shape of the fake provider is priced at list price', () => {
  it('Anthropic cache writes: 1.25x input for the 5-minute cache, 2x for the 1-hour cache', async () => {
    let usage: Anthropic.Usage | undefined
    const d = await delta('anthropic', 'claude-sonnet-4-5', async () => {
      usage = (
        await h.anthropic.messages.create(
          { model: 'claude-sonnet-4-5', max_tokens: 50, ...chat },
          {
            headers: {
              'x-fake-cache-creation-tokens': '1000',
              'x-fake-cache-creation-1h-tokens': '2000',
              'x-fake-cached-tokens': '400',
            },
          },
        )
      ).usage
    })
    expect(usage?.cache_creation?.ephemeral_1h_input_tokens).toBe(2000)
    // the ledger keeps the classes apart, as parts of the input total
    expect([d.cacheWrite5mTokens, d.cacheWrite1hTokens, d.cachedInputTokens]).toEqual([1000, 2000, 400])
    // claude-sonnet-4-5: $3 in, $3.75 5m write, $6 1h write, $0.30 read, $15 out
    expect(d.costNano).toBe(
      (usage?.input_tokens ?? 0) * 3_000 +
        1000 * 3_750 +
        2000 * 6_000 +
        400 * 300 +
        (usage?.output_tokens ?? 0) * 15_000,
    )
  })

  it('Anthropic web searches ($10 per 1,000) and US-only inference (1.1x every token)', async () => {
    let usage: Anthropic.Usage | undefined
    const d = await delta('anthropic', 'claude-opus-4-6', async () => {
      usage = (
        await h.anthropic.messages.create(
          { model: 'claude-opus-4-6', max_tokens: 50, ...chat },
          { headers: { 'x-fake-web-search-requests': '3', 'x-fake-inference-geo': 'us' } },
        )
      ).usage
    })
    expect(usage?.server_tool_use?.web_search_requests).toBe(3)
    expect(usage?.inference_geo).toBe('us')
    // claude-opus-4-6: $5 in, $25 out; each search $0.01
    const tokens = (usage?.input_tokens ?? 0) * 5_000 + (usage?.output_tokens ?? 0) * 25_000
    expect(d.costNano).toBe(Math.round(tokens * 1.1) + 3 * 10_000_000)
  })

  it('OpenAI cached input and reasoning', async () => {
    let usage: OpenAI.CompletionUsage | undefined
    const d = await delta('openai', 'o3', async () => {
      usage = (
        await h.openai.chat.completions.create(
          { model: 'o3', ...chat },
          { headers: { 'x-fake-cached-tokens': '300', 'x-fake-reasoning-tokens': '500' } },
        )
      ).usage
    })
    // o3: $2 in, $0.50 cached, $8 out (reasoning is output)
    expect(usage?.completion_tokens_details?.reasoning_tokens).toBe(500)
    expect(d.costNano).toBe(
      ((usage?.prompt_tokens ?? 0) - 300) * 2_000 + 300 * 500 + (usage?.completion_tokens ?? 0) * 8_000,
    )
    expect(d.reasoningTokens).toBe(500)
  })

  it('OpenAI cache writes of a chat completion: 1.25x input (GPT-5.6 Luna)', async () => {
    let usage: OpenAI.CompletionUsage | undefined
    const d = await delta('openai', 'gpt-5.6-luna', async () => {
      usage = (
        await h.openai.chat.completions.create(
          { model: 'gpt-5.6-luna', ...chat },
          { headers: { 'x-fake-cached-tokens': '200', 'x-fake-cache-creation-tokens': '3000' } },
        )
      ).usage
    })
    expect(usage?.prompt_tokens_details?.cache_write_tokens).toBe(3000)
    // gpt-5.6-luna: $0.20 in, $0.02 cached, $0.25 cache write, $1.20 out
    const text = (usage?.prompt_tokens ?? 0) - 200 - 3000
    expect(d.costNano).toBe(text * 200 + 200 * 20 + 3000 * 250 + (usage?.completion_tokens ?? 0) * 1_200)
  })

  it('OpenAI cache writes of a streamed chat completion (GPT-5.6 Terra)', async () => {
    let usage: OpenAI.CompletionUsage | undefined
    const d = await delta('openai', 'gpt-5.6-terra', async () => {
      const stream = await h.openai.chat.completions.create(
        { model: 'gpt-5.6-terra', ...chat, stream: true, stream_options: { include_usage: true } },
        { headers: { 'x-fake-cache-creation-tokens': '1000' } },
      )
      for await (const chunk of stream) usage = chunk.usage ?? usage
    })
    expect(usage?.prompt_tokens_details?.cache_write_tokens).toBe(1000)
    // gpt-5.6-terra: $2 in, $2.50 cache write, $12 out
    const text = (usage?.prompt_tokens ?? 0) - 1000
    expect(d.costNano).toBe(text * 2_000 + 1000 * 2_500 + (usage?.completion_tokens ?? 0) * 12_000)
  })

  it('OpenAI cache writes of a streamed Responses call (GPT-5.6 Luna)', async () => {
    let usage: OpenAI.Responses.ResponseUsage | undefined
    const d = await delta('openai', 'gpt-5.6-luna', async () => {
      const stream = h.openai.responses.stream(
        { model: 'gpt-5.6-luna', input: 'Tell me about toll gates.' },
        { headers: { 'x-fake-cached-tokens': '50', 'x-fake-cache-creation-tokens': '800' } },
      )
      usage = (await stream.finalResponse()).usage
    })
    expect(usage?.input_tokens_details.cache_write_tokens).toBe(800)
    const text = (usage?.input_tokens ?? 0) - 50 - 800
    expect(d.costNano).toBe(text * 200 + 50 * 20 + 800 * 250 + (usage?.output_tokens ?? 0) * 1_200)
  })

  it('an OpenAI call over 272K input at 2x input and 1.5x output for the whole call (GPT-5.6 Sol)', async () => {
    let usage: OpenAI.CompletionUsage | undefined
    const d = await delta('openai', 'gpt-5.6-sol', async () => {
      usage = (
        await h.openai.chat.completions.create(
          { model: 'gpt-5.6-sol', ...chat },
          { headers: { 'x-fake-cached-tokens': '200000', 'x-fake-cache-creation-tokens': '80000' } },
        )
      ).usage
    })
    expect(usage?.prompt_tokens).toBeGreaterThan(272_000)
    // gpt-5.6-sol over 272K: $10 in, $1 cached, $12.50 cache write, $45 out
    const text = (usage?.prompt_tokens ?? 0) - 200_000 - 80_000
    expect(d.costNano).toBe(
      text * 10_000 + 200_000 * 1_000 + 80_000 * 12_500 + (usage?.completion_tokens ?? 0) * 45_000,
    )
  })

  it('Claude Haiku 5.5 at 100,000 prompt tokens at the base rates, at 100,001 at the higher band', async () => {
    const model = 'claude-haiku-5-5'
    const call = async (cached: number) => {
      let usage: Anthropic.Usage | undefined
      const d = await delta('anthropic', model, async () => {
        usage = (
          await h.anthropic.messages.create(
            { model, max_tokens: 50, ...chat },
            { headers: { 'x-fake-cached-tokens': String(cached), 'x-fake-cache-creation-tokens': '1000' } },
          )
        ).usage
      })
      const u = usage as Anthropic.Usage
      return { d, u, prompt: u.input_tokens + (u.cache_read_input_tokens ?? 0) + 1000 }
    }
    const { u: first } = await call(0)
    const fill = 100_000 - first.input_tokens - 1000
    const at = await call(fill)
    expect(at.prompt).toBe(100_000)
    // ≤ 100K: $0.10 in, $0.125 5m write, $0.01 read, $0.50 out
    expect(at.d.costNano).toBe(at.u.input_tokens * 100 + fill * 10 + 1000 * 125 + at.u.output_tokens * 500)
    const over = await call(fill + 1)
    expect(over.prompt).toBe(100_001)
    // > 100K, every token of the request: $0.50 in, $0.625 5m write, $0.05 read, $2.50 out
    expect(over.d.costNano).toBe(
      over.u.input_tokens * 500 + (fill + 1) * 50 + 1000 * 625 + over.u.output_tokens * 2_500,
    )
  })

  it('OpenAI audio tokens of a chat completion', async () => {
    let usage: OpenAI.CompletionUsage | undefined
    const model = 'gpt-4o-audio-preview'
    const d = await delta('openai', model, async () => {
      usage = (
        await h.openai.chat.completions.create(
          { model, ...chat },
          { headers: { 'x-fake-audio-input-tokens': '1000', 'x-fake-audio-output-tokens': '2000' } },
        )
      ).usage
    })
    // gpt-4o-audio-preview: text $2.50 in / $10 out, audio $40 in / $80 out
    const text = (usage?.prompt_tokens ?? 0) - 1000
    const textOut = (usage?.completion_tokens ?? 0) - 2000
    expect([d.audioInputTokens, d.audioOutputTokens]).toEqual([1000, 2000])
    expect(d.costNano).toBe(text * 2_500 + 1000 * 40_000 + textOut * 10_000 + 2000 * 80_000)
  })

  it.each([
    ['dall-e-3, standard 1024x1024', { model: 'dall-e-3', n: 1, size: '1024x1024' as const }, 40_000_000],
    [
      'dall-e-3, hd 1024x1792, two images',
      { model: 'dall-e-3', n: 2, size: '1024x1792' as const, quality: 'hd' as const },
      240_000_000,
    ],
    ['dall-e-2, 256x256', { model: 'dall-e-2', n: 1, size: '256x256' as const }, 16_000_000],
  ])('image generation priced per image: %s', async (_name, params, nano) => {
    const d = await delta('openai', params.model, () =>
      h.openai.images.generate({ prompt: 'a toll gate', ...params }),
    )
    expect(d.costNano).toBe(nano)
    expect(d.images).toBe(params.n)
  })

  it('gpt-image-1 priced by its text and image tokens', async () => {
    let usage: OpenAI.ImagesResponse['usage']
    const d = await delta('openai', 'gpt-image-1', async () => {
      usage = (
        await h.openai.images.generate({ model: 'gpt-image-1', prompt: 'a toll gate', quality: 'high' })
      ).usage
    })
    // gpt-image-1: text in $5, image in $10, image out $40
    const u = usage as NonNullable<typeof usage>
    expect([d.imageInputTokens, d.imageOutputTokens]).toEqual([
      u.input_tokens_details.image_tokens,
      u.output_tokens,
    ])
    expect(d.costNano).toBe(
      u.input_tokens_details.text_tokens * 5_000 +
        u.input_tokens_details.image_tokens * 10_000 +
        u.output_tokens * 40_000,
    )
  })

  it('speech priced per character (tts-1: $15 per million characters)', async () => {
    const input = 'Toll gates take money at the road.'
    const d = await delta('openai', 'tts-1', () =>
      h.openai.audio.speech.create({ model: 'tts-1', input, voice: 'alloy' }).then((r) => r.arrayBuffer()),
    )
    expect(d.costNano).toBe(input.length * 15_000)
    expect(d.characters).toBe(input.length)
  })

  it('whisper-1 priced by the seconds it reports ($0.006 a minute)', async () => {
    const file = new File([Buffer.alloc(48_000)], 'toll.mp3', { type: 'audio/mpeg' })
    let seconds = 0
    const d = await delta('openai', 'whisper-1', async () => {
      const t = await h.openai.audio.transcriptions.create({ model: 'whisper-1', file })
      seconds = (t.usage as { seconds: number }).seconds
    })
    expect(seconds).toBe(3)
    expect(d.costNano).toBe(3 * 100_000)
    expect(d.audioSeconds).toBe(3)
  })

  it('gpt-4o-transcribe priced by its audio and text tokens', async () => {
    const file = new File([Buffer.alloc(48_000)], 'toll.mp3', { type: 'audio/mpeg' })
    let usage: { input_tokens: number; output_tokens: number } | undefined
    const d = await delta('openai', 'gpt-4o-transcribe', async () => {
      usage = (await h.openai.audio.transcriptions.create({ model: 'gpt-4o-transcribe', file }))
        .usage as typeof usage
    })
    // gpt-4o-transcribe: audio in $6, text out $10 (every input token of the fake is audio)
    expect(d.costNano).toBe((usage?.input_tokens ?? 0) * 6_000 + (usage?.output_tokens ?? 0) * 10_000)
  })
})
