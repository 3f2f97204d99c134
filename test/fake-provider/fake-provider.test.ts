import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  estimateTokens,
  completionText as expectedText,
  type FakeProvider,
  InvalidBehaviourError,
  type KeyUsage,
  keyHash,
  startFakeProvider,
} from './fake-provider.ts'
import { MAX_KEYS, MAX_MODELS, UsageTally } from './usage-tally.ts'

const KEY = 'sk-fake-provider-test'
const SYSTEM = 'Be brief.'
const QUESTION = 'Tell me about tollgates'
const MESSAGES = [
  { role: 'system' as const, content: SYSTEM },
  { role: 'user' as const, content: QUESTION },
]
const PROMPT_TOKENS = estimateTokens([SYSTEM, QUESTION])

const caught = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise
  } catch (err) {
    return err
  }
  throw new Error('expected a rejection')
}

let fake: FakeProvider
let openai: OpenAI
let anthropic: Anthropic

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: KEY })
  openai = new OpenAI({ apiKey: KEY, baseURL: `${fake.url}/v1`, maxRetries: 0 })
  anthropic = new Anthropic({ apiKey: KEY, baseURL: fake.url, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

describe('OpenAI chat completions', () => {
  it('answers deterministic words derived from the last user message, with documented usage', async () => {
    const completion = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES })
    expect(completion.object).toBe('chat.completion')
    expect(completion.model).toBe('gpt-4o-mini')
    expect(completion.choices[0]?.message).toMatchObject({
      role: 'assistant',
      content: expectedText(QUESTION),
    })
    expect(completion.choices[0]?.finish_reason).toBe('stop')
    expect(completion.usage).toEqual({
      prompt_tokens: PROMPT_TOKENS,
      completion_tokens: 12,
      total_tokens: PROMPT_TOKENS + 12,
      prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    })
    const again = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES })
    expect(again.choices[0]?.message.content).toBe(completion.choices[0]?.message.content)
    const other = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Something else' }],
    })
    expect(other.choices[0]?.message.content).toBe(expectedText('Something else'))
    expect(other.choices[0]?.message.content).not.toBe(completion.choices[0]?.message.content)
  })

  it('records method, path, parsed body and the auth header, and echoes the id', async () => {
    const { response } = await openai.chat.completions
      .create({ model: 'gpt-4o', messages: MESSAGES }, { headers: { 'x-trace': 'abc' } })
      .withResponse()
    const [recorded] = fake.requests
    expect(fake.requests).toHaveLength(1)
    expect(response.headers.get('x-fake-request-id')).toBe(recorded?.id)
    expect(recorded).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      body: { model: 'gpt-4o', messages: MESSAGES },
      status: 200,
      aborted: false,
      ended: true,
    })
    expect(recorded?.headers.authorization).toBe(`Bearer ${KEY}`)
    expect(recorded?.headers['x-trace']).toBe('abc')
  })

  it('streams the same text as the plain answer, one chunk per word, without usage unless asked', async () => {
    const plain = await openai.chat.completions.create({ model: 'gpt-4o', messages: MESSAGES })
    const stream = await openai.chat.completions.create({ model: 'gpt-4o', messages: MESSAGES, stream: true })
    const chunks: OpenAI.ChatCompletionChunk[] = []
    for await (const chunk of stream) chunks.push(chunk)

    const words = chunks.map((c) => c.choices[0]?.delta.content).filter((content) => content)
    expect(words).toHaveLength(12)
    expect(words.join('')).toBe(plain.choices[0]?.message.content)
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant')
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop')
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.choices.length === 1)).toBe(true)
    expect(chunks.some((c) => 'usage' in c)).toBe(false)
  })

  it('ends the stream with a usage chunk (choices: []) only when stream_options.include_usage is true', async () => {
    const plain = await openai.chat.completions.create({ model: 'gpt-4o', messages: MESSAGES })
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o',
      messages: MESSAGES,
      stream: true,
      stream_options: { include_usage: true },
    })
    const chunks: OpenAI.ChatCompletionChunk[] = []
    for await (const chunk of stream) chunks.push(chunk)

    const last = chunks.at(-1)
    expect(last?.choices).toEqual([])
    expect(last?.usage).toEqual(plain.usage)
    expect(chunks.slice(0, -1).every((c) => c.usage === null && c.choices.length === 1)).toBe(true)
  })

  it('caps the words at max_tokens with finish_reason length', async () => {
    const completion = await openai.chat.completions.create({
      model: 'gpt-4o',
      messages: MESSAGES,
      max_tokens: 4,
    })
    expect(completion.choices[0]?.message.content).toBe(expectedText(QUESTION, 4))
    expect(completion.choices[0]?.finish_reason).toBe('length')
    expect(completion.usage?.completion_tokens).toBe(4)
    const newer = await openai.chat.completions.create({
      model: 'gpt-4o',
      messages: MESSAGES,
      max_completion_tokens: 20,
    })
    expect(newer.usage?.completion_tokens).toBe(12)
    expect(newer.choices[0]?.finish_reason).toBe('stop')
  })

  it('reports cache writes in the prompt and its details, chat and Responses alike', async () => {
    const headers = { 'x-fake-cached-tokens': '40', 'x-fake-cache-creation-tokens': '300' }
    const chat = await openai.chat.completions.create(
      { model: 'gpt-5.6-luna', messages: MESSAGES },
      { headers },
    )
    expect(chat.usage).toMatchObject({
      prompt_tokens: PROMPT_TOKENS + 340,
      prompt_tokens_details: { cached_tokens: 40, cache_write_tokens: 300 },
    })
    const response = await openai.responses.create({ model: 'gpt-5.6-luna', input: QUESTION }, { headers })
    expect(response.usage).toMatchObject({
      input_tokens: estimateTokens([QUESTION]) + 340,
      input_tokens_details: { cached_tokens: 40, cache_write_tokens: 300 },
    })
  })

  it('takes word, cached and reasoning counts from control headers', async () => {
    const completion = await openai.chat.completions.create(
      { model: 'o4-mini', messages: MESSAGES },
      {
        headers: {
          'x-fake-output-tokens': '30',
          'x-fake-cached-tokens': '100',
          'x-fake-reasoning-tokens': '7',
        },
      },
    )
    expect(completion.choices[0]?.message.content).toBe(expectedText(QUESTION, 30))
    expect(completion.usage).toMatchObject({
      prompt_tokens: PROMPT_TOKENS + 100,
      completion_tokens: 37,
      total_tokens: PROMPT_TOKENS + 137,
      prompt_tokens_details: { cached_tokens: 100 },
      completion_tokens_details: { reasoning_tokens: 7 },
    })
  })
})

describe('OpenAI completions, embeddings, responses and models', () => {
  it('answers legacy completions plainly and streamed', async () => {
    const prompt = 'Say this is a test'
    const plain = await openai.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt })
    expect(plain.object).toBe('text_completion')
    expect(plain.choices[0]?.text).toBe(expectedText(prompt))
    expect(plain.usage).toMatchObject({
      prompt_tokens: estimateTokens([prompt]),
      completion_tokens: 12,
      total_tokens: estimateTokens([prompt]) + 12,
    })
    const stream = await openai.completions.create({
      model: 'gpt-3.5-turbo-instruct',
      prompt,
      stream: true,
      stream_options: { include_usage: true },
    })
    const chunks: OpenAI.Completion[] = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.map((c) => c.choices[0]?.text ?? '').join('')).toBe(plain.choices[0]?.text)
    expect(chunks.filter((c) => c.choices[0]?.text)).toHaveLength(12)
    expect(chunks.at(-1)?.choices).toEqual([])
    expect(chunks.at(-1)?.usage).toEqual(plain.usage)
  })

  it('answers embeddings as base64 (the SDK default) or floats, deterministic unit vectors', async () => {
    const input = ['first text', 'second, longer text']
    const decoded = await openai.embeddings.create({ model: 'text-embedding-3-small', input })
    expect(fake.requests[0]?.body).toMatchObject({ encoding_format: 'base64' })
    expect(decoded.data.map((d) => d.index)).toEqual([0, 1])
    expect(decoded.data[0]?.embedding).toHaveLength(1536)
    const norm = Math.hypot(...(decoded.data[0]?.embedding ?? []))
    expect(norm).toBeCloseTo(1, 5)
    expect(decoded.usage).toEqual({
      prompt_tokens: estimateTokens([input[0] ?? '']) + estimateTokens([input[1] ?? '']),
      total_tokens: estimateTokens([input[0] ?? '']) + estimateTokens([input[1] ?? '']),
    })

    const floats = await openai.embeddings.create({
      model: 'text-embedding-3-small',
      input,
      encoding_format: 'float',
    })
    expect(floats.data[1]?.embedding).toEqual(decoded.data[1]?.embedding)
    expect(floats.data[0]?.embedding).not.toEqual(floats.data[1]?.embedding)

    const small = await openai.embeddings.create({
      model: 'text-embedding-3-large',
      input: 'x',
      dimensions: 256,
    })
    expect(small.data[0]?.embedding).toHaveLength(256)
  })

  it('answers the Responses API plainly with documented usage', async () => {
    const response = await openai.responses.create({
      model: 'gpt-4.1',
      instructions: SYSTEM,
      input: QUESTION,
    })
    expect(response.status).toBe('completed')
    expect(response.output_text).toBe(expectedText(QUESTION))
    expect(response.usage).toEqual({
      input_tokens: PROMPT_TOKENS,
      input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
      output_tokens: 12,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: PROMPT_TOKENS + 12,
    })

    const withHeaders = await openai.responses.create(
      { model: 'gpt-4.1', input: [{ role: 'user', content: [{ type: 'input_text', text: QUESTION }] }] },
      { headers: { 'x-fake-cached-tokens': '10', 'x-fake-reasoning-tokens': '3' } },
    )
    expect(withHeaders.output_text).toBe(expectedText(QUESTION))
    expect(withHeaders.usage).toMatchObject({
      input_tokens: estimateTokens([QUESTION]) + 10,
      input_tokens_details: { cached_tokens: 10 },
      output_tokens: 15,
      output_tokens_details: { reasoning_tokens: 3 },
    })
  })

  it('streams Responses API events whose final response equals the plain one', async () => {
    const plain = await openai.responses.create({ model: 'gpt-4.1', input: QUESTION })
    const stream = openai.responses.stream({ model: 'gpt-4.1', input: QUESTION })
    const types: string[] = []
    for await (const event of stream) types.push(event.type)
    const final = await stream.finalResponse()

    expect(final.output_text).toBe(plain.output_text)
    expect(final.usage).toEqual(plain.usage)
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...Array(12).fill('response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ])
  })

  it('reports an incomplete response when max_output_tokens cuts it short', async () => {
    const response = await openai.responses.create({
      model: 'gpt-4.1',
      input: QUESTION,
      max_output_tokens: 3,
    })
    expect(response.status).toBe('incomplete')
    expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' })
    expect(response.output_text).toBe(expectedText(QUESTION, 3))
    const stream = openai.responses.stream({ model: 'gpt-4.1', input: QUESTION, max_output_tokens: 3 })
    const types: string[] = []
    for await (const event of stream) types.push(event.type)
    expect(types.at(-1)).toBe('response.incomplete')
  })

  it('lists and retrieves models, 404 model_not_found for unknown ids', async () => {
    const ids: string[] = []
    for await (const model of openai.models.list()) ids.push(model.id)
    expect(ids).toContain('gpt-4o-mini')
    expect(await openai.models.retrieve('gpt-4o')).toMatchObject({ id: 'gpt-4o', object: 'model' })
    const err = await caught(openai.models.retrieve('no-such-model'))
    expect(err).toBeInstanceOf(OpenAI.NotFoundError)
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found')
  })
})

describe('Anthropic messages', () => {
  const params = {
    model: 'claude-sonnet-4-6',
    max_tokens: 1024,
    system: SYSTEM,
    messages: [{ role: 'user' as const, content: QUESTION }],
  }

  it('answers deterministic words with documented usage', async () => {
    const message = await anthropic.messages.create(params)
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-6',
      content: [{ type: 'text', text: expectedText(QUESTION) }],
      stop_reason: 'end_turn',
      stop_sequence: null,
    })
    expect(message.usage).toEqual({
      input_tokens: PROMPT_TOKENS,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
      output_tokens: 12,
      server_tool_use: { web_search_requests: 0, web_fetch_requests: 0 },
      inference_geo: 'global',
      service_tier: 'standard',
    })
  })

  it('takes the key from Authorization: Bearer (what @anthropic-ai/sdk 1.x sends) or x-api-key', async () => {
    await anthropic.messages.countTokens({
      model: 'claude-haiku-4-5',
      messages: [{ role: 'user', content: 'hi' }],
    })
    expect(fake.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`)
    const withApiKey = await fetch(`${fake.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(withApiKey.status).toBe(200)
    expect(fake.requests[1]?.headers['x-api-key']).toBe(KEY)
  })

  it('streams message_start … message_stop and finalMessage() equals the plain message', async () => {
    const plain = await anthropic.messages.create(params)
    const stream = anthropic.messages.stream(params)
    const types: string[] = []
    stream.on('streamEvent', (event) => types.push(event.type))
    const final = await stream.finalMessage()

    expect(final.content).toEqual(plain.content)
    expect(final.usage).toEqual(plain.usage)
    expect(final.stop_reason).toBe('end_turn')
    expect(types).toEqual([
      'message_start',
      'content_block_start',
      ...Array(12).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ])
  })

  it('reports cache reads, cache writes and thinking tokens from control headers, cumulative in message_delta', async () => {
    const stream = anthropic.messages.stream(
      { ...params, max_tokens: 5 },
      {
        headers: {
          'x-fake-cached-tokens': '50',
          'x-fake-cache-creation-tokens': '20',
          'x-fake-reasoning-tokens': '8',
        },
      },
    )
    const deltas: Anthropic.MessageDeltaUsage[] = []
    const starts: Anthropic.Usage[] = []
    stream.on('streamEvent', (event) => {
      if (event.type === 'message_delta') deltas.push(event.usage)
      // The SDK accumulates into the message_start object itself: copy it as it arrived.
      if (event.type === 'message_start') starts.push({ ...event.message.usage })
    })
    const final = await stream.finalMessage()
    expect(final.stop_reason).toBe('max_tokens')
    expect(final.content).toEqual([{ type: 'text', text: expectedText(QUESTION, 5) }])
    expect(starts[0]).toMatchObject({
      input_tokens: PROMPT_TOKENS,
      cache_read_input_tokens: 50,
      output_tokens: 1,
    })
    expect(deltas).toEqual([
      {
        input_tokens: PROMPT_TOKENS,
        cache_creation_input_tokens: 20,
        cache_read_input_tokens: 50,
        output_tokens: 13,
        output_tokens_details: { thinking_tokens: 8 },
      },
    ])
    expect(final.usage).toMatchObject({
      input_tokens: PROMPT_TOKENS,
      cache_creation_input_tokens: 20,
      cache_read_input_tokens: 50,
      cache_creation: { ephemeral_5m_input_tokens: 20 },
      output_tokens: 13,
    })
  })

  it('counts tokens with the same estimate', async () => {
    const { max_tokens: _, ...countParams } = params
    expect(await anthropic.messages.countTokens(countParams)).toEqual({ input_tokens: PROMPT_TOKENS })
  })

  it('lists models to Anthropic clients in the Anthropic shape', async () => {
    const page = await anthropic.models.list()
    expect(page.data.map((m) => m.type)).toContain('model')
    expect(page.data.map((m) => m.id)).toContain('claude-sonnet-4-6')
  })
})

describe('failure controls', () => {
  it('fails with the status, the provider error shape and retry-after visible to the SDK', async () => {
    const openaiErr = await caught(
      openai.chat.completions.create(
        { model: 'gpt-4o', messages: MESSAGES },
        { headers: { 'x-fake-fail': '429', 'x-fake-retry-after': '7' } },
      ),
    )
    expect(openaiErr).toBeInstanceOf(OpenAI.RateLimitError)
    const rateLimited = openaiErr as InstanceType<typeof OpenAI.RateLimitError>
    expect(rateLimited.status).toBe(429)
    expect(rateLimited.code).toBe('rate_limit_exceeded')
    expect(rateLimited.headers.get('retry-after')).toBe('7')

    const anthropicErr = await caught(
      anthropic.messages.create(
        { model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] },
        { headers: { 'x-fake-fail': '529', 'x-fake-retry-after': '3' } },
      ),
    )
    expect(anthropicErr).toBeInstanceOf(Anthropic.APIError)
    const overloaded = anthropicErr as InstanceType<typeof Anthropic.APIError>
    expect(overloaded.status).toBe(529)
    expect(overloaded.headers?.get('retry-after')).toBe('3')
    expect(overloaded.error).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } })
  })

  it('fails only the first N requests of a scenario, so an SDK retry succeeds', async () => {
    const retrying = new OpenAI({ apiKey: KEY, baseURL: `${fake.url}/v1`, maxRetries: 2 })
    const headers = {
      'x-fake-fail': '503',
      'x-fake-fail-times': '2',
      'x-fake-scenario': 'retry-a',
      'x-fake-retry-after': '0.001',
    }
    const completion = await retrying.chat.completions.create(
      { model: 'gpt-4o', messages: MESSAGES },
      { headers },
    )
    expect(completion.choices[0]?.message.content).toBe(expectedText(QUESTION))
    expect(fake.requests.map((r) => r.status)).toEqual([503, 503, 200])

    const otherScenario = await caught(
      openai.chat.completions.create(
        { model: 'gpt-4o', messages: MESSAGES },
        { headers: { ...headers, 'x-fake-scenario': 'retry-b' } },
      ),
    )
    expect(otherScenario).toBeInstanceOf(OpenAI.InternalServerError)
    expect((otherScenario as InstanceType<typeof OpenAI.APIError>).status).toBe(503)
  })

  it('stalls a stream after N words until the client aborts, and records the abort', async () => {
    const { data: stream, response } = await openai.chat.completions
      .create(
        { model: 'gpt-4o', messages: MESSAGES, stream: true },
        { headers: { 'x-fake-stall-after': '3' } },
      )
      .withResponse()
    const id = response.headers.get('x-fake-request-id') ?? ''
    const words: string[] = []
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content
      if (content) words.push(content)
      if (words.length === 3) break // leaving the loop aborts the request
    }
    const recorded = await fake.waitForAbort(id)
    expect(words.join('')).toBe(expectedText(QUESTION, 3))
    expect(recorded).toMatchObject({ id, aborted: true, ended: true, status: 200 })
  })

  it('stalls an Anthropic stream after message_start and records the abort', async () => {
    const stream = anthropic.messages.stream(
      { model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-fake-stall-after': '0' } },
    )
    const types: string[] = []
    stream.on('streamEvent', (event) => {
      types.push(event.type)
      if (event.type === 'content_block_start') stream.abort()
    })
    const err = await caught(stream.finalMessage())
    expect(err).toBeInstanceOf(Anthropic.APIUserAbortError)
    const recorded = await fake.waitForAbort((await fake.waitForRequest()).id)
    expect(recorded.aborted).toBe(true)
    expect(types).toEqual(['message_start', 'content_block_start'])
  })

  it('never answers a stalled non-streamed request; the client timeout aborts it', async () => {
    const err = await caught(
      openai.chat.completions.create(
        { model: 'gpt-4o', messages: MESSAGES },
        { headers: { 'x-fake-stall-after': '0' }, timeout: 200 },
      ),
    )
    expect(err).toBeInstanceOf(OpenAI.APIConnectionTimeoutError)
    const recorded = await fake.waitForAbort((await fake.waitForRequest()).id)
    expect(recorded).toMatchObject({ aborted: true, status: undefined })
  })

  it('holds the response headers for x-fake-delay-ms', async () => {
    const err = await caught(
      anthropic.messages.create(
        { model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] },
        { headers: { 'x-fake-delay-ms': '60000' }, timeout: 200 },
      ),
    )
    expect(err).toBeInstanceOf(Anthropic.APIConnectionTimeoutError)
    const recorded = await fake.waitForAbort((await fake.waitForRequest()).id)
    expect(recorded.status).toBeUndefined()
  })

  it('holds each stream chunk for x-fake-chunk-delay-ms', async () => {
    const stream = await openai.chat.completions.create(
      { model: 'gpt-4o', messages: MESSAGES, stream: true },
      { headers: { 'x-fake-chunk-delay-ms': '60000' } },
    )
    const received: OpenAI.ChatCompletionChunk[] = []
    for await (const chunk of stream) {
      received.push(chunk)
      break // the first event is not delayed; the second would come a minute later
    }
    const recorded = await fake.waitForAbort((await fake.waitForRequest()).id)
    expect(received[0]?.choices[0]?.delta.role).toBe('assistant')
    expect(recorded.aborted).toBe(true)
  })

  it('cuts a stream after N words: the SDKs see the connection die, the fake records no abort', async () => {
    const stream = await openai.chat.completions.create(
      { model: 'gpt-4o', messages: MESSAGES, stream: true },
      { headers: { 'x-fake-cut-after': '2' } },
    )
    const words: string[] = []
    const err = await caught(
      (async () => {
        for await (const chunk of stream)
          if (chunk.choices[0]?.delta.content) words.push(chunk.choices[0].delta.content)
      })(),
    )
    // openai-node does not wrap errors raised while reading a stream body: undici's own error surfaces.
    expect(err).toBeInstanceOf(TypeError)
    expect((err as Error).message).toBe('terminated')
    expect(words.join('')).toBe(expectedText(QUESTION, 2))

    const anthropicStream = anthropic.messages.stream(
      { model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-fake-cut-after': '1' } },
    )
    const anthropicErr = await caught(anthropicStream.finalMessage())
    expect(anthropicErr).toBeInstanceOf(Anthropic.AnthropicError)
    expect((anthropicErr as Error).message).toBe('terminated')

    expect(fake.requests.map((r) => [r.aborted, r.ended])).toEqual([
      [false, true],
      [false, true],
    ])
  })

  it('cuts a non-streamed request before any byte: APIConnectionError', async () => {
    const err = await caught(
      openai.chat.completions.create(
        { model: 'gpt-4o', messages: MESSAGES },
        { headers: { 'x-fake-cut-after': '0' } },
      ),
    )
    expect(err).toBeInstanceOf(OpenAI.APIConnectionError)
  })

  it('applies fake.behave() to every request, header fields override it, reset() clears it', async () => {
    fake.behave({ fail: 500, failTimes: 1, outputTokens: 3 })
    const err = await caught(openai.chat.completions.create({ model: 'gpt-4o', messages: MESSAGES }))
    expect(err).toBeInstanceOf(OpenAI.InternalServerError)
    const second = await openai.chat.completions.create({ model: 'gpt-4o', messages: MESSAGES })
    expect(second.usage?.completion_tokens).toBe(3)
    const overridden = await openai.chat.completions.create(
      { model: 'gpt-4o', messages: MESSAGES },
      { headers: { 'x-fake-output-tokens': '5' } },
    )
    expect(overridden.usage?.completion_tokens).toBe(5)
    fake.reset()
    const healthy = await openai.chat.completions.create({ model: 'gpt-4o', messages: MESSAGES })
    expect(healthy.usage?.completion_tokens).toBe(12)
    expect(() => fake.behave({ fail: 200 })).toThrow(InvalidBehaviourError)
  })

  it('answers 400 naming an invalid control header', async () => {
    const err = await caught(
      openai.chat.completions.create(
        { model: 'gpt-4o', messages: MESSAGES },
        { headers: { 'x-fake-fail': 'soon' } },
      ),
    )
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect((err as Error).message).toContain('x-fake-fail')
  })
})

describe('authentication and error shapes', () => {
  it('answers 401 in each provider shape when the key is wrong', async () => {
    const wrongOpenAI = new OpenAI({ apiKey: 'sk-wrong', baseURL: `${fake.url}/v1`, maxRetries: 0 })
    const openaiErr = await caught(
      wrongOpenAI.chat.completions.create({ model: 'gpt-4o', messages: MESSAGES }),
    )
    expect(openaiErr).toBeInstanceOf(OpenAI.AuthenticationError)
    expect((openaiErr as InstanceType<typeof OpenAI.APIError>).code).toBe('invalid_api_key')

    const wrongAnthropic = new Anthropic({ apiKey: 'sk-wrong', baseURL: fake.url, maxRetries: 0 })
    const anthropicErr = await caught(
      wrongAnthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [] }),
    )
    expect(anthropicErr).toBeInstanceOf(Anthropic.AuthenticationError)
    expect((anthropicErr as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'authentication_error' },
    })
    expect(fake.requests.map((r) => r.headers.authorization)).toEqual(['Bearer sk-wrong', 'Bearer sk-wrong'])
    const wrongApiKey = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'sk-wrong', 'anthropic-version': '2023-06-01' },
      body: '{}',
    })
    expect(wrongApiKey.status).toBe(401)
    expect(await wrongApiKey.json()).toMatchObject({
      error: { type: 'authentication_error', message: 'invalid x-api-key' },
    })

    const noKey = await fetch(`${fake.url}/v1/models`)
    expect(noKey.status).toBe(401)
    expect(await noKey.json()).toMatchObject({
      error: { type: 'invalid_request_error', code: 'invalid_api_key' },
    })
  })

  it('answers 404 for unknown routes in the shape of the API the request speaks', async () => {
    const openaiRes = await fetch(`${fake.url}/v1/nope`, { method: 'POST', body: '{}' })
    expect(openaiRes.status).toBe(404)
    expect(await openaiRes.json()).toEqual({
      error: {
        message: 'Invalid URL (POST /v1/nope)',
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    })
    const anthropicRes = await fetch(`${fake.url}/v1/nope`, {
      method: 'POST',
      headers: { 'anthropic-version': '2023-06-01', 'x-api-key': KEY },
    })
    expect(anthropicRes.status).toBe(404)
    expect(anthropicRes.headers.get('request-id')).toMatch(/^req_/)
    expect(await anthropicRes.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } })
  })

  it('answers 400 for malformed JSON in the shape of the API the request speaks', async () => {
    const openaiRes = await fetch(`${fake.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: '{"model":',
    })
    expect(openaiRes.status).toBe(400)
    expect(await openaiRes.json()).toMatchObject({
      error: {
        type: 'invalid_request_error',
        message: expect.stringContaining('could not parse the JSON body'),
      },
    })
    const anthropicRes = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: 'not json',
    })
    expect(anthropicRes.status).toBe(400)
    expect(await anthropicRes.json()).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error' },
    })
  })

  it('answers 400 like the real APIs for a missing anthropic-version or model', async () => {
    const noVersion = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY },
      body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 1, messages: [] }),
    })
    expect(noVersion.status).toBe(400)
    expect(await noVersion.json()).toMatchObject({
      error: { message: 'anthropic-version: header is required' },
    })
    const noModel = await caught(openai.chat.completions.create({ messages: MESSAGES } as never))
    expect(noModel).toBeInstanceOf(OpenAI.BadRequestError)
    expect((noModel as InstanceType<typeof OpenAI.APIError>).param).toBe('model')
  })
})

describe('recent headers (GET /_fake/headers)', () => {
  it('serves the headers of the last calls, newest last, never a key', async () => {
    await openai.chat.completions.create(
      { model: 'gpt-4o', messages: MESSAGES },
      { headers: { 'OpenAI-Organization': 'org-seen' } },
    )
    await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: MESSAGES })
    const text = await (await fetch(`${fake.url}/_fake/headers`)).text()
    expect(text).not.toContain(KEY)
    const { requests } = JSON.parse(text) as { requests: { path: string; headers: Record<string, string> }[] }
    const [chat, message] = requests.slice(-2)
    expect(chat).toMatchObject({
      path: '/v1/chat/completions',
      headers: { 'openai-organization': 'org-seen' },
    })
    expect(message?.path).toBe('/v1/messages')
    expect(message?.headers).toHaveProperty('anthropic-version')
    expect(message?.headers).not.toHaveProperty('x-api-key')
    expect(chat?.headers).not.toHaveProperty('authorization')
  })
})

describe('usage tally (GET /_fake/usage)', () => {
  const tally = async (url = fake.url) => {
    const response = await fetch(`${url}/_fake/usage`)
    expect(response.status).toBe(200)
    const text = await response.text()
    expect(text).not.toContain(KEY)
    return (JSON.parse(text) as { keys: KeyUsage[] }).keys
  }
  const ours = { keyHash: keyHash(KEY), last4: KEY.slice(-4) }

  it('sums per key the calls and the usage the answers reported, plain and streamed, both APIs', async () => {
    await openai.chat.completions.create({ model: 'gpt-4o', messages: MESSAGES })
    const chat = await openai.chat.completions.create({
      model: 'gpt-4o',
      messages: MESSAGES,
      stream: true,
      stream_options: { include_usage: true },
    })
    for await (const _ of chat);
    const messages = {
      model: 'claude-sonnet-4-6',
      max_tokens: 5,
      messages: [{ role: 'user' as const, content: QUESTION }],
    }
    await anthropic.messages.create(messages)
    const stream = await anthropic.messages.create({ ...messages, stream: true })
    for await (const _ of stream);
    const question = estimateTokens([QUESTION])
    expect(await tally()).toEqual([
      {
        ...ours,
        calls: 4,
        inputTokens: 2 * PROMPT_TOKENS + 2 * question,
        outputTokens: 2 * 12 + 2 * 5,
        models: {
          'gpt-4o': {
            provider: 'openai',
            calls: 2,
            inputTokens: 2 * PROMPT_TOKENS,
            cachedInputTokens: 0,
            outputTokens: 2 * 12,
          },
          'claude-sonnet-4-6': {
            provider: 'anthropic',
            calls: 2,
            inputTokens: 2 * question,
            cachedInputTokens: 0,
            outputTokens: 2 * 5,
          },
        },
      },
    ])
  })

  it('keeps the cached part of the input apart, per model', async () => {
    fake.behave({ cachedTokens: 7 })
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES })
    const [key] = await tally()
    expect(key?.models['gpt-4o-mini']).toEqual({
      provider: 'openai',
      calls: 1,
      inputTokens: PROMPT_TOKENS + 7,
      cachedInputTokens: 7,
      outputTokens: 12,
    })
  })

  it('counts calls that report no usage, keys that fail and requests without a key, apart', async () => {
    const chat = await openai.chat.completions.create({ model: 'gpt-4o', messages: MESSAGES, stream: true })
    for await (const _ of chat); // without include_usage the stream reports no usage
    const wrong = new OpenAI({ apiKey: 'sk-wrong-1234', baseURL: `${fake.url}/v1`, maxRetries: 0 })
    await caught(wrong.chat.completions.create({ model: 'gpt-4o', messages: MESSAGES }))
    await fetch(`${fake.url}/v1/models`)
    expect(await tally()).toEqual([
      { ...ours, calls: 1, inputTokens: 0, outputTokens: 0, models: {} },
      {
        keyHash: keyHash('sk-wrong-1234'),
        last4: '1234',
        calls: 1,
        inputTokens: 0,
        outputTokens: 0,
        models: {},
      },
      { keyHash: null, last4: null, calls: 1, inputTokens: 0, outputTokens: 0, models: {} },
    ])
    fake.reset()
    expect(await tally()).toEqual([])
  })

  it('keeps MAX_KEYS keys apart and the rest together, so memory stays bounded', () => {
    const usage = new UsageTally()
    for (let i = 0; i < MAX_KEYS + 3; i++) usage.call(`sk-${i}`).outputTokens += 1
    const keys = usage.snapshot()
    expect(keys).toHaveLength(MAX_KEYS + 1)
    expect(keys.at(-1)).toEqual({
      keyHash: 'other',
      last4: null,
      calls: 3,
      inputTokens: 0,
      outputTokens: 3,
      models: {},
    })
    const one = usage.call('sk-models')
    for (let i = 0; i < MAX_MODELS + 2; i++)
      usage.report(one, 'openai', `m-${i}`, { input: 1, cached: 0, output: 1 })
    expect(Object.keys(one.models)).toHaveLength(MAX_MODELS + 1)
    expect(one.models.other).toEqual({
      provider: 'openai',
      calls: 2,
      inputTokens: 2,
      cachedInputTokens: 0,
      outputTokens: 2,
    })
  })
})

describe('main.ts', () => {
  it('prints its URL, serves, and exits 0 on SIGTERM', async () => {
    const main = fileURLToPath(new URL('./main.ts', import.meta.url))
    const child = spawn(process.execPath, [main, '--port', '0', '--api-key', KEY], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const exited = once(child, 'exit')
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string]
    const url = /^fake provider listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line)?.[1]
    expect(url).toBeDefined()
    const client = new OpenAI({ apiKey: KEY, baseURL: `${url}/v1`, maxRetries: 0 })
    const completion = await client.chat.completions.create({ model: 'gpt-4o', messages: MESSAGES })
    expect(completion.choices[0]?.message.content).toBe(expectedText(QUESTION))
    // The CLI records no requests, and still keeps the usage tally.
    const usage = (await (await fetch(`${url}/_fake/usage`)).json()) as { keys: KeyUsage[] }
    expect(usage.keys).toEqual([
      {
        keyHash: keyHash(KEY),
        last4: KEY.slice(-4),
        calls: 1,
        inputTokens: PROMPT_TOKENS,
        outputTokens: 12,
        models: {
          'gpt-4o': {
            provider: 'openai',
            calls: 1,
            inputTokens: PROMPT_TOKENS,
            cachedInputTokens: 0,
            outputTokens: 12,
          },
        },
      },
    ])
    child.kill('SIGTERM')
    expect(await exited).toEqual([0, null])
  })

  it('refuses unknown flags with a non-zero exit', async () => {
    const main = fileURLToPath(new URL('./main.ts', import.meta.url))
    const child = spawn(process.execPath, [main, '--bogus'], { stdio: ['ignore', 'ignore', 'pipe'] })
    const [code] = await once(child, 'exit')
    expect(code).toBe(2)
  })
})
