import { describe, expect, it } from 'vitest'
import { JsonFieldReader } from '../json/json-field-reader.ts'
import { SseUsageReader } from './sse-usage-reader.ts'
import { emptyUsage } from './usage.ts'
import { USAGE_PATHS, UsageAccumulator, type UsageShape } from './usage-accumulator.ts'

/** readJson reads a JSON answer in chunks of `size` bytes, as the upstream handler does. */
function readJson(shape: UsageShape, body: unknown, size = 1 << 20): UsageAccumulator {
  const acc = new UsageAccumulator(shape)
  const reader = new JsonFieldReader(USAGE_PATHS)
  const bytes = Buffer.from(JSON.stringify(body))
  for (let i = 0; i < bytes.length; i += size) reader.write(bytes.subarray(i, i + size))
  reader.end()
  acc.absorb(reader.values, reader.overflowed.size > 0)
  return acc
}

const usage = (fields: Partial<ReturnType<typeof emptyUsage>>) => ({ ...emptyUsage(), ...fields })

const sse = (...events: unknown[]) => events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('')
const named = (...events: [string, unknown][]) =>
  events.map(([name, e]) => `event: ${name}\ndata: ${JSON.stringify(e)}\n\n`).join('')

describe('UsageAccumulator', () => {
  it.each<[string, UsageShape, { model?: string; [field: string]: unknown }, ReturnType<typeof usage>]>([
    [
      'OpenAI chat completion',
      'openai',
      {
        model: 'gpt-4o-2024-08-06',
        usage: {
          prompt_tokens: 100,
          completion_tokens: 40,
          prompt_tokens_details: { cached_tokens: 64 },
          completion_tokens_details: { reasoning_tokens: 16 },
        },
      },
      usage({ inputTokens: 100, outputTokens: 40, cachedInputTokens: 64, reasoningTokens: 16 }),
    ],
    [
      'OpenAI chat completion with cache writes (part of prompt_tokens, as cache reads are)',
      'openai',
      {
        model: 'gpt-5.6-luna',
        usage: {
          prompt_tokens: 1000,
          completion_tokens: 40,
          prompt_tokens_details: { cached_tokens: 200, cache_write_tokens: 300 },
        },
      },
      usage({ inputTokens: 1000, outputTokens: 40, cachedInputTokens: 200, cacheWrite5mTokens: 300 }),
    ],
    [
      'OpenAI embeddings',
      'openai',
      { model: 'text-embedding-3-small', usage: { prompt_tokens: 8, total_tokens: 8 } },
      usage({ inputTokens: 8 }),
    ],
    [
      'OpenAI Responses',
      'openai',
      {
        object: 'response',
        model: 'gpt-5',
        usage: {
          input_tokens: 50,
          output_tokens: 30,
          input_tokens_details: { cached_tokens: 10 },
          output_tokens_details: { reasoning_tokens: 20 },
        },
      },
      usage({ inputTokens: 50, outputTokens: 30, cachedInputTokens: 10, reasoningTokens: 20 }),
    ],
    [
      'OpenAI Responses with cache writes',
      'openai',
      {
        object: 'response',
        model: 'gpt-5.6-sol',
        usage: {
          input_tokens: 500,
          output_tokens: 30,
          input_tokens_details: { cached_tokens: 100, cache_write_tokens: 250 },
        },
      },
      usage({ inputTokens: 500, outputTokens: 30, cachedInputTokens: 100, cacheWrite5mTokens: 250 }),
    ],
    [
      'Anthropic message (cache reads and writes added to input)',
      'anthropic',
      {
        type: 'message',
        model: 'claude-sonnet-4-5',
        usage: {
          input_tokens: 20,
          cache_read_input_tokens: 100,
          cache_creation_input_tokens: 30,
          output_tokens: 7,
        },
      },
      usage({ inputTokens: 150, outputTokens: 7, cachedInputTokens: 100, cacheWrite5mTokens: 30 }),
    ],
    [
      'Anthropic cache writes of both caches',
      'anthropic',
      {
        model: 'claude-sonnet-4-5',
        usage: {
          input_tokens: 5,
          cache_creation_input_tokens: 300,
          cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 200 },
          output_tokens: 7,
        },
      },
      usage({ inputTokens: 305, outputTokens: 7, cacheWrite5mTokens: 100, cacheWrite1hTokens: 200 }),
    ],
    [
      'OpenAI audio tokens',
      'openai',
      {
        model: 'gpt-4o-audio-preview',
        usage: {
          prompt_tokens: 120,
          completion_tokens: 80,
          prompt_tokens_details: { audio_tokens: 100 },
          completion_tokens_details: { audio_tokens: 70 },
        },
      },
      usage({ inputTokens: 120, outputTokens: 80, audioInputTokens: 100, audioOutputTokens: 70 }),
    ],
    [
      'gpt-image-1 text and image tokens',
      'images',
      {
        model: 'gpt-image-1',
        usage: {
          input_tokens: 50,
          input_tokens_details: { text_tokens: 10, image_tokens: 40 },
          output_tokens: 4160,
        },
      },
      usage({ inputTokens: 50, imageInputTokens: 40, outputTokens: 4160, imageOutputTokens: 4160 }),
    ],
    [
      'a transcription billed by tokens',
      'transcription',
      {
        usage: {
          type: 'tokens',
          input_tokens: 30,
          input_token_details: { text_tokens: 0, audio_tokens: 30 },
          output_tokens: 9,
        },
      },
      usage({ inputTokens: 30, audioInputTokens: 30, outputTokens: 9 }),
    ],
    [
      'a transcription billed by duration',
      'transcription',
      { usage: { type: 'duration', seconds: 7 } },
      usage({ seconds: 7 }),
    ],
    ['a translation (its duration)', 'translation', { text: 'x', duration: 6.2 }, usage({ seconds: 7 })],
  ])('reads %s', (_name, shape, body, expected) => {
    for (const size of [1, 5, 1 << 20]) {
      const acc = readJson(shape, body, size)
      expect(acc.result()).toEqual(expected)
      expect(acc.model).toBe(body.model)
    }
  })

  it('takes the top-level usage, not a key named usage elsewhere in the body', () => {
    const acc = readJson('openai', {
      object: 'response',
      usage: { input_tokens: 50, output_tokens: 3 },
      metadata: { usage: '{"input_tokens":0}' },
      output: [{ content: [{ text: '"usage": {"input_tokens": 0}' }] }],
    })
    expect(acc.result()).toMatchObject({ inputTokens: 50, outputTokens: 3 })
  })

  it('ignores bodies without usage', () => {
    const acc = readJson('openai', { input_tokens: 12 })
    expect(acc.seen).toBe(false)
    expect(acc.result().inputTokens).toBe(0)
  })
})

describe('SseUsageReader', () => {
  const openaiStream = sse(
    { id: 'c', model: 'gpt-4o-mini', choices: [{ delta: { role: 'assistant' } }], usage: null },
    { id: 'c', model: 'gpt-4o-mini', choices: [{ delta: { content: 'Hi' } }], usage: null },
    { id: 'c', model: 'gpt-4o-mini', choices: [], usage: { prompt_tokens: 9, completion_tokens: 2 } },
  ).concat('data: [DONE]\n\n')

  const splits = [1, 7, 50, 1000]

  it.each(splits)('observes OpenAI usage whatever the chunking (%i bytes)', (size) => {
    const acc = new UsageAccumulator('openai')
    const scanner = new SseUsageReader(acc)
    const bytes = Buffer.from(openaiStream)
    for (let i = 0; i < bytes.length; i += size) scanner.observe(bytes.subarray(i, i + size))
    expect(acc.result()).toMatchObject({ inputTokens: 9, outputTokens: 2 })
    expect(acc.model).toBe('gpt-4o-mini')
  })

  it.each(splits)('cuts the usage-only chunk and keeps everything else (%i-byte chunks)', (size) => {
    const acc = new UsageAccumulator('openai')
    const scanner = new SseUsageReader(acc, true)
    const bytes = Buffer.from(openaiStream)
    const out: Buffer[] = []
    for (let i = 0; i < bytes.length; i += size) {
      const forwarded = scanner.filter(bytes.subarray(i, i + size))
      if (forwarded) out.push(forwarded)
    }
    const rest = scanner.end()
    if (rest) out.push(rest)
    const text = Buffer.concat(out).toString()
    expect(text).not.toContain('prompt_tokens')
    expect(text).toContain('"content":"Hi"')
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true)
    expect(acc.result()).toMatchObject({ inputTokens: 9, outputTokens: 2 })
  })

  it('keeps a usage chunk that also carries choices', () => {
    const acc = new UsageAccumulator('openai')
    const scanner = new SseUsageReader(acc, true)
    const stream = sse({
      choices: [{ delta: { content: 'x' } }],
      usage: { prompt_tokens: 1, completion_tokens: 1 },
    })
    expect(scanner.filter(Buffer.from(stream))?.toString()).toBe(stream)
  })

  it('reads Anthropic message_start and the cumulative message_delta', () => {
    const acc = new UsageAccumulator('anthropic')
    const scanner = new SseUsageReader(acc)
    const stream = named(
      [
        'message_start',
        {
          type: 'message_start',
          message: {
            model: 'claude-haiku-4-5',
            usage: { input_tokens: 12, cache_read_input_tokens: 4, output_tokens: 1 },
          },
        },
      ],
      ['content_block_delta', { type: 'content_block_delta', delta: { type: 'text_delta', text: 'Hello' } }],
      [
        'message_delta',
        { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 5 } },
      ],
      ['message_delta', { type: 'message_delta', delta: {}, usage: { output_tokens: 9 } }],
      ['message_stop', { type: 'message_stop' }],
    )
    scanner.observe(Buffer.from(stream))
    expect(acc.result()).toEqual(usage({ inputTokens: 16, outputTokens: 9, cachedInputTokens: 4 }))
    expect(acc.model).toBe('claude-haiku-4-5')
  })

  it('reads the Responses API response.completed event', () => {
    const acc = new UsageAccumulator('openai')
    const scanner = new SseUsageReader(acc)
    scanner.observe(
      Buffer.from(
        named(
          ['response.created', { type: 'response.created', response: { model: 'gpt-5', usage: null } }],
          ['response.output_text.delta', { type: 'response.output_text.delta', delta: 'Hi' }],
          [
            'response.completed',
            {
              type: 'response.completed',
              response: {
                model: 'gpt-5',
                usage: { input_tokens: 3, output_tokens: 4, output_tokens_details: { reasoning_tokens: 2 } },
              },
            },
          ],
        ),
      ),
    )
    expect(acc.result()).toEqual(usage({ inputTokens: 3, outputTokens: 4, reasoningTokens: 2 }))
  })

  it.each(splits)('reads the cache writes of an OpenAI chat stream (%i-byte chunks)', (size) => {
    const acc = new UsageAccumulator('openai')
    const reader = new SseUsageReader(acc, true)
    const bytes = Buffer.from(
      sse(
        { model: 'gpt-5.6-terra', choices: [{ delta: { content: 'Hi' } }], usage: null },
        {
          model: 'gpt-5.6-terra',
          choices: [],
          usage: {
            prompt_tokens: 900,
            completion_tokens: 2,
            prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 700 },
          },
        },
      ).concat('data: [DONE]\n\n'),
    )
    for (let i = 0; i < bytes.length; i += size) reader.filter(bytes.subarray(i, i + size))
    reader.end()
    expect(acc.result()).toEqual(
      usage({ inputTokens: 900, outputTokens: 2, cachedInputTokens: 100, cacheWrite5mTokens: 700 }),
    )
  })

  it('reads the cache writes of a Responses stream', () => {
    const acc = new UsageAccumulator('openai')
    new SseUsageReader(acc).observe(
      Buffer.from(
        named([
          'response.completed',
          {
            type: 'response.completed',
            response: {
              model: 'gpt-5.6-sol',
              usage: {
                input_tokens: 400,
                output_tokens: 4,
                input_tokens_details: { cached_tokens: 0, cache_write_tokens: 380 },
              },
            },
          },
        ]),
      ),
    )
    expect(acc.result()).toEqual(usage({ inputTokens: 400, outputTokens: 4, cacheWrite5mTokens: 380 }))
  })

  it.each([1, 1000, 65_536])('reads a 2 MiB event whole (%i-byte chunks), holding none of it', (size) => {
    const acc = new UsageAccumulator('openai')
    const reader = new SseUsageReader(acc)
    const instructions = 'Be brief. '.repeat(210_000)
    const bytes = Buffer.from(
      named(
        ['response.created', { type: 'response.created', response: { instructions, usage: null } }],
        [
          'response.completed',
          {
            type: 'response.completed',
            response: { instructions, model: 'gpt-5', usage: { input_tokens: 524_000, output_tokens: 5 } },
          },
        ],
      ),
    )
    expect(bytes.length).toBeGreaterThan(4 << 20)
    for (let i = 0; i < bytes.length; i += size) reader.observe(bytes.subarray(i, i + size))
    expect(acc.result()).toMatchObject({ inputTokens: 524_000, outputTokens: 5 })
    expect(acc.unreadable).toBe(false)
  })

  it('passes a large event through in strip mode and still reads the usage after it', () => {
    const acc = new UsageAccumulator('openai')
    const reader = new SseUsageReader(acc, true)
    const big = sse({ choices: [{ delta: { content: 'x'.repeat(200_000) } }], usage: null })
    const stream = big.concat(
      sse({ choices: [], usage: { prompt_tokens: 2, completion_tokens: 3 } }),
      'data: [DONE]\n\n',
    )
    const out: Buffer[] = []
    const bytes = Buffer.from(stream)
    for (let i = 0; i < bytes.length; i += 4096) {
      const forwarded = reader.filter(bytes.subarray(i, i + 4096))
      if (forwarded) out.push(forwarded)
    }
    const rest = reader.end()
    if (rest) out.push(rest)
    expect(Buffer.concat(out).toString()).toBe(big.concat('data: [DONE]\n\n'))
    expect(acc.result()).toMatchObject({ inputTokens: 2, outputTokens: 3 })
  })

  it('handles CRLF event boundaries', () => {
    const acc = new UsageAccumulator('openai')
    new SseUsageReader(acc).observe(
      Buffer.from('data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":6}}\r\n\r\n'),
    )
    expect(acc.result()).toMatchObject({ inputTokens: 5, outputTokens: 6 })
  })
})

describe('JSON answers', () => {
  it('reads a body split into chunks', () => {
    const acc = readJson('openai', { model: 'gpt-4o', usage: { prompt_tokens: 3, completion_tokens: 4 } }, 10)
    expect(acc.result()).toMatchObject({ inputTokens: 3, outputTokens: 4 })
  })

  it('reads the usage at the end of a body too large to hold', () => {
    const data = Array.from({ length: 3000 }, (_, i) => ({ index: i, embedding: Array(120).fill(0.123456) }))
    const body = {
      object: 'list',
      data,
      model: 'text-embedding-3-small',
      usage: { prompt_tokens: 3000, total_tokens: 3000 },
    }
    expect(JSON.stringify(body).length).toBeGreaterThan(2 << 20)
    const acc = readJson('openai', body, 65_536)
    expect(acc.result().inputTokens).toBe(3000)
    expect(acc.model).toBe('text-embedding-3-small')
  })
})
