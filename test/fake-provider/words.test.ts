import { describe, expect, it } from 'vitest'
import { collectText, completionWords, estimateTokens, lastUserText, streamPieces } from './words.ts'

describe('words', () => {
  it.each([
    [[], 0],
    [['a'], 1],
    [['abcd'], 1],
    [['abcde'], 2],
    [['ab', 'cde'], 2],
    [['x'.repeat(400)], 100],
  ])('estimateTokens(%j) is ceil(chars / 4) = %i', (texts, tokens) => {
    expect(estimateTokens(texts)).toBe(tokens)
  })

  it.each([
    ['a string', 'hi', ['hi']],
    [
      'chat messages',
      [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'hi' },
      ],
      ['sys', 'hi'],
    ],
    [
      'content parts',
      [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'image_url' }] }],
      ['a'],
    ],
    ['responses items', [{ role: 'user', content: [{ type: 'input_text', text: 'q' }] }], ['q']],
    ['nothing textual', [{ type: 'tool_use', input: { x: 'no' } }, 5, null], []],
  ])('collectText reads %s', (_name, value, texts) => {
    expect(collectText(value)).toEqual(texts)
  })

  it('lastUserText picks the last user message', () => {
    const messages = [
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'reply' },
      { role: 'user', content: [{ type: 'text', text: 'second' }] },
    ]
    expect(lastUserText(messages)).toBe('second')
    expect(lastUserText([{ role: 'system', content: 'only' }])).toBe('')
  })

  it('completionWords depends on the seed only and streamPieces rebuild the text', () => {
    const words = completionWords('hello', 12)
    expect(words).toHaveLength(12)
    expect(completionWords('hello', 12)).toEqual(words)
    expect(completionWords('other', 12)).not.toEqual(words)
    expect(completionWords('hello', 5)).toEqual(words.slice(0, 5))
    expect(streamPieces(words).join('')).toBe(words.join(' '))
  })
})
