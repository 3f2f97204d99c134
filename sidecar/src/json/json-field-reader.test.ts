import { describe, expect, it } from 'vitest'
import { JsonFieldReader } from './json-field-reader.ts'

const PATHS = ['usage', 'model', 'response.usage', 'type', 'duration']

/** read feeds a document in pieces of `size` bytes and returns the values found. */
function read(text: string, size = Number.POSITIVE_INFINITY, paths = PATHS, max?: number) {
  const reader = new JsonFieldReader(paths, max)
  const buf = Buffer.from(text)
  const step = Math.min(size, buf.length)
  for (let i = 0; i < buf.length; i += step) reader.write(buf.subarray(i, i + step))
  reader.end()
  return { values: Object.fromEntries(reader.values), overflowed: [...reader.overflowed] }
}

describe('JsonFieldReader', () => {
  it.each([
    [
      'the top-level usage, not one in metadata after it',
      { model: 'gpt-5', usage: { input_tokens: 5 }, metadata: { usage: '{"input_tokens":0}' } },
      { model: 'gpt-5', usage: { input_tokens: 5 } },
    ],
    [
      'not a usage key inside an array or a nested object',
      { data: [{ usage: { a: 1 } }], choices: [{ message: { usage: 2 } }], usage: { b: 3 } },
      { usage: { b: 3 } },
    ],
    [
      'a nested path',
      { type: 'response.completed', response: { model: 'm', usage: { input_tokens: 9 } } },
      { type: 'response.completed', 'response.usage': { input_tokens: 9 } },
    ],
    [
      'strings holding quotes, escapes and braces',
      { text: 'a "usage": {"x": 1} \\" }', usage: { n: 1 }, model: 'q"\\' },
      { usage: { n: 1 }, model: 'q"\\' },
    ],
    ['numbers and literals', { duration: 12.5, usage: null }, { duration: 12.5, usage: null }],
    ['an escaped key', JSON.parse('{"us\\u0061ge": {"k": 1}}'), { usage: { k: 1 } }],
    ['nothing wanted', { choices: [] }, {}],
  ])('finds %s', (_name, doc, expected) => {
    const text = JSON.stringify(doc)
    for (const size of [1, 2, 3, 7, 64, text.length]) expect(read(text, size).values).toEqual(expected)
  })

  it('reads an escaped key as JSON writes it', () => {
    expect(read('{"us\\u0061ge":{"k":1}}', 1).values).toEqual({ usage: { k: 1 } })
  })

  it('finds the usage after megabytes of other values in bounded memory', () => {
    const data = Array.from({ length: 300 }, (_, i) => ({ index: i, embedding: Array(1000).fill(0.123456) }))
    const text = JSON.stringify({ data, model: 'text-embedding-3-small', usage: { prompt_tokens: 7 } })
    expect(text.length).toBeGreaterThan(2_000_000)
    expect(read(text, 65_536).values).toEqual({
      model: 'text-embedding-3-small',
      usage: { prompt_tokens: 7 },
    })
  })

  it('drops a wanted value larger than the bound and says so', () => {
    const text = JSON.stringify({ usage: { big: 'x'.repeat(2000) }, model: 'm' })
    expect(read(text, 100, PATHS, 1000)).toEqual({ values: { model: 'm' }, overflowed: ['usage'] })
  })

  it('starts afresh after reset', () => {
    const reader = new JsonFieldReader(['usage'])
    reader.write(Buffer.from('{"usage": {"a": 1}, "x": "unfinished'))
    reader.reset()
    reader.write(Buffer.from('{"usage": {"b": 2}}'))
    expect(Object.fromEntries(reader.values)).toEqual({ usage: { b: 2 } })
  })
})

describe('JsonFieldReader limits', () => {
  const limits = { maxDepth: 4, maxContainers: 5, maxValues: 8 }
  it.each([
    ['within every limit', '{"a":[1,2,{"b":"c"}]}', undefined],
    ['too deep', '{"a":[[[[1]]]]}', 'depth'],
    ['too many containers', '[[],[],[],[],[]]', 'containers'],
    ['too many values', '[1,2,3,4,5,6,7,8]', 'values'],
    ['brackets in strings do not count', '{"a":"[[[[[[[[[{{{{{"}', undefined],
  ])('%s', (_name, text, exceeded) => {
    for (const size of [1, 3, 100]) {
      const reader = new JsonFieldReader([], 1024, limits)
      const buf = Buffer.from(text)
      for (let i = 0; i < buf.length; i += size) reader.write(buf.subarray(i, i + size))
      expect(reader.exceeded).toBe(exceeded)
    }
  })
})
