import { describe, expect, it } from 'vitest'
import { estimateTokens } from './estimate.ts'

const text = (bytes: number) => 'a'.repeat(bytes)

describe('estimateTokens', () => {
  it.each([
    {
      name: 'OpenAI chat: 3 bytes a token, 4 per message, 3 to prime, max_tokens × n',
      dialect: 'openai',
      route: '/v1/chat/completions',
      body: {
        model: 'gpt-4o',
        messages: [
          { role: 'system', content: text(27) },
          { role: 'user', content: text(30) },
        ],
        max_tokens: 100,
        n: 2,
      },
      // strings: 'system'(6)+27+'user'(4)+30 = 67 bytes → 23 tokens; 2 messages × 4 + 3 = 11
      expected: { promptTokens: 34, maxOutputTokens: 200, total: 234, outputBounded: true },
    },
    {
      name: 'OpenAI chat: max_completion_tokens wins over max_tokens; images cost fixed tokens',
      dialect: 'openai',
      route: '/v1/chat/completions',
      body: {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: text(5) },
              { type: 'image_url', image_url: { url: `data:image/png;base64,${text(90_000)}` } },
              { type: 'image_url', image_url: { url: 'https://x/y.png', detail: 'low' } },
            ],
          },
        ],
        max_completion_tokens: 50,
        max_tokens: 9999,
      },
      // 'user'(4) + 'text'(4) + 5 = 13 bytes → 5; images 765 + 85; framing 4 + 3
      expected: { promptTokens: 862, maxOutputTokens: 50, total: 912, outputBounded: true },
    },
    {
      name: 'OpenAI chat without a bound charges the default output',
      dialect: 'openai',
      route: '/v1/chat/completions',
      body: { messages: [{ role: 'user', content: text(2) }] },
      expected: { promptTokens: 9, maxOutputTokens: 4096, total: 4105, outputBounded: false },
    },
    {
      name: 'OpenAI chat: tools are read by the model and counted',
      dialect: 'openai',
      route: '/v1/chat/completions',
      body: {
        messages: [{ role: 'user', content: 'hi' }],
        tools: [{ type: 'function', function: { name: 'get', parameters: { type: 'object' } } }],
        max_tokens: 1,
      },
      // 'user' + 'hi' = 6, 'function' + 'get' + 'object' = 17 → 23 bytes → 8; framing 7
      expected: { promptTokens: 15, maxOutputTokens: 1, total: 16, outputBounded: true },
    },
    {
      name: 'OpenAI responses: instructions and input string, max_output_tokens',
      dialect: 'openai',
      route: '/v1/responses',
      body: { model: 'gpt-5', instructions: text(30), input: text(30), max_output_tokens: 500 },
      expected: { promptTokens: 20, maxOutputTokens: 500, total: 520, outputBounded: true },
    },
    {
      name: 'OpenAI embeddings: token-id arrays count one token each, no output',
      dialect: 'openai',
      route: '/v1/embeddings',
      body: {
        model: 'text-embedding-3-small',
        input: [
          [1, 2, 3, 4],
          [5, 6],
        ],
      },
      expected: { promptTokens: 9, maxOutputTokens: 0, total: 9, outputBounded: true },
    },
    {
      name: 'OpenAI legacy completions default max_tokens to 16, times best_of',
      dialect: 'openai',
      route: '/v1/completions?x=1',
      body: { model: 'gpt-3.5-turbo-instruct', prompt: text(9), best_of: 3 },
      expected: { promptTokens: 3, maxOutputTokens: 48, total: 51, outputBounded: true },
    },
    {
      name: 'Anthropic messages: system, block content, images; ids and cache_control are not text',
      dialect: 'anthropic',
      route: '/v1/messages',
      body: {
        model: 'claude-sonnet-4-5',
        max_tokens: 1024,
        system: [{ type: 'text', text: text(12), cache_control: { type: 'ephemeral' } }],
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: text(8) },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: text(50_000) } },
            ],
          },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: { q: 'x' } }] },
        ],
      },
      // 'text' + 12 + 'user' + 'text' + 8 + 'assistant' + 'tool_use' + 'f' + 'x' = 51 bytes → 17;
      // image 1600; framing 2 × 4 + 3
      expected: { promptTokens: 1628, maxOutputTokens: 1024, total: 2652, outputBounded: true },
    },
    {
      name: 'Anthropic count_tokens produces no output',
      dialect: 'anthropic',
      route: '/v1/messages/count_tokens',
      body: { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'abc' }] },
      // 'user' + 'abc' = 7 bytes → 3; framing 7
      expected: { promptTokens: 10, maxOutputTokens: 0, total: 10, outputBounded: true },
    },
    {
      name: 'multi-byte text counts its UTF-8 bytes: one CJK character is about one token',
      dialect: 'anthropic',
      route: '/v1/messages',
      body: { max_tokens: 10, messages: [{ role: 'user', content: '東京都庁舎' }] },
      // 'user' 4 bytes + 5 × 3 bytes = 19 → 7; framing 7
      expected: { promptTokens: 14, maxOutputTokens: 10, total: 24, outputBounded: true },
    },
    {
      name: 'a body that is not an object estimates nothing but the default output',
      dialect: 'openai',
      route: '/v1/chat/completions',
      body: 'garbage',
      expected: { promptTokens: 0, maxOutputTokens: 4096, total: 4096, outputBounded: false },
    },
  ] as const)('$name', ({ dialect, route, body, expected }) => {
    expect(estimateTokens(dialect, route, body)).toEqual(expected)
  })

  it('takes the default output from the options', () => {
    expect(
      estimateTokens('openai', '/v1/chat/completions', {}, { defaultMaxOutputTokens: 7 }).maxOutputTokens,
    ).toBe(7)
  })

  it('over-estimates ordinary English prose (about 4 bytes per real token)', () => {
    const prose = 'The quick brown fox jumps over the lazy dog. '.repeat(20)
    // cl100k/o200k tokenize this sentence as 10 tokens per repetition (200 for the whole text)
    const estimate = estimateTokens('openai', '/v1/embeddings', { input: prose })
    expect(estimate.promptTokens).toBeGreaterThanOrEqual(200)
  })
})
