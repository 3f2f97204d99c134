import { describe, expect, it } from 'vitest'
import { JsonUsageCollector } from './json-usage-collector.ts'
import { SseUsageScanner } from './sse-usage-scanner.ts'
import { UsageAccumulator } from './usage-accumulator.ts'

const sse = (...events: unknown[]) => events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('')
const named = (...events: [string, unknown][]) =>
  events.map(([name, e]) => `event: ${name}\ndata: ${JSON.stringify(e)}\n\n`).join('')

describe('UsageAccumulator', () => {
  it.each([
    [
      'OpenAI chat completion',
      false,
      {
        model: 'gpt-4o-2024-08-06',
        usage: {
          prompt_tokens: 100,
          completion_tokens: 40,
          prompt_tokens_details: { cached_tokens: 64 },
          completion_tokens_details: { reasoning_tokens: 16 },
        },
      },
      { inputTokens: 100, outputTokens: 40, cachedInputTokens: 64, reasoningTokens: 16 },
    ],
    [
      'OpenAI embeddings',
      false,
      { model: 'text-embedding-3-small', usage: { prompt_tokens: 8, total_tokens: 8 } },
      { inputTokens: 8, outputTokens: 0, cachedInputTokens: 0, reasoningTokens: 0 },
    ],
    [
      'OpenAI Responses',
      false,
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
      { inputTokens: 50, outputTokens: 30, cachedInputTokens: 10, reasoningTokens: 20 },
    ],
    [
      'Anthropic message (cache reads and writes added to input)',
      true,
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
      { inputTokens: 150, outputTokens: 7, cachedInputTokens: 100, reasoningTokens: 0 },
    ],
  ])('reads %s', (_name, anthropic, body, usage) => {
    const acc = new UsageAccumulator(anthropic)
    acc.absorb(body)
    expect(acc.result()).toEqual(usage)
    expect(acc.model).toBe(body.model)
  })

  it('ignores bodies without usage', () => {
    const acc = new UsageAccumulator(false)
    acc.absorb({ input_tokens: 12 })
    acc.absorb('text')
    acc.absorb(null)
    expect(acc.seen).toBe(false)
    expect(acc.result().inputTokens).toBe(0)
  })
})

describe('SseUsageScanner', () => {
  const openaiStream = sse(
    { id: 'c', model: 'gpt-4o-mini', choices: [{ delta: { role: 'assistant' } }], usage: null },
    { id: 'c', model: 'gpt-4o-mini', choices: [{ delta: { content: 'Hi' } }], usage: null },
    { id: 'c', model: 'gpt-4o-mini', choices: [], usage: { prompt_tokens: 9, completion_tokens: 2 } },
  ).concat('data: [DONE]\n\n')

  const splits = [1, 7, 50, 1000]

  it.each(splits)('observes OpenAI usage whatever the chunking (%i bytes)', (size) => {
    const acc = new UsageAccumulator(false)
    const scanner = new SseUsageScanner(acc)
    const bytes = Buffer.from(openaiStream)
    for (let i = 0; i < bytes.length; i += size) scanner.observe(bytes.subarray(i, i + size))
    expect(acc.result()).toMatchObject({ inputTokens: 9, outputTokens: 2 })
    expect(acc.model).toBe('gpt-4o-mini')
  })

  it.each(splits)('cuts the usage-only chunk and keeps everything else (%i-byte chunks)', (size) => {
    const acc = new UsageAccumulator(false)
    const scanner = new SseUsageScanner(acc)
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
    const acc = new UsageAccumulator(false)
    const scanner = new SseUsageScanner(acc)
    const stream = sse({
      choices: [{ delta: { content: 'x' } }],
      usage: { prompt_tokens: 1, completion_tokens: 1 },
    })
    expect(scanner.filter(Buffer.from(stream))?.toString()).toBe(stream)
  })

  it('reads Anthropic message_start and the cumulative message_delta', () => {
    const acc = new UsageAccumulator(true)
    const scanner = new SseUsageScanner(acc)
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
    expect(acc.result()).toEqual({
      inputTokens: 16,
      outputTokens: 9,
      cachedInputTokens: 4,
      reasoningTokens: 0,
    })
    expect(acc.model).toBe('claude-haiku-4-5')
  })

  it('reads the Responses API response.completed event', () => {
    const acc = new UsageAccumulator(false)
    const scanner = new SseUsageScanner(acc)
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
    expect(acc.result()).toEqual({
      inputTokens: 3,
      outputTokens: 4,
      cachedInputTokens: 0,
      reasoningTokens: 2,
    })
  })

  it('handles CRLF event boundaries', () => {
    const acc = new UsageAccumulator(false)
    new SseUsageScanner(acc).observe(
      Buffer.from('data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":6}}\r\n\r\n'),
    )
    expect(acc.result()).toMatchObject({ inputTokens: 5, outputTokens: 6 })
  })
})

describe('JsonUsageCollector', () => {
  it('reads a body split into chunks', () => {
    const acc = new UsageAccumulator(false)
    const collector = new JsonUsageCollector(acc)
    const body = Buffer.from(
      JSON.stringify({ model: 'gpt-4o', usage: { prompt_tokens: 3, completion_tokens: 4 } }),
    )
    collector.push(body.subarray(0, 10))
    collector.push(body.subarray(10))
    collector.end()
    expect(acc.result()).toMatchObject({ inputTokens: 3, outputTokens: 4 })
  })

  it('reads the usage at the end of a body too large to parse whole', () => {
    const acc = new UsageAccumulator(false)
    const collector = new JsonUsageCollector(acc)
    const data = Array.from({ length: 3000 }, (_, i) => ({ index: i, embedding: Array(120).fill(0.123456) }))
    const body = Buffer.from(
      JSON.stringify({
        object: 'list',
        data,
        model: 'text-embedding-3-small',
        usage: { prompt_tokens: 3000, total_tokens: 3000 },
      }),
    )
    expect(body.length).toBeGreaterThan(2 << 20)
    for (let i = 0; i < body.length; i += 65_536) collector.push(body.subarray(i, i + 65_536))
    collector.end()
    expect(acc.result().inputTokens).toBe(3000)
    expect(acc.model).toBe('text-embedding-3-small')
  })
})
