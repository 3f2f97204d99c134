import { describe, expect, it } from 'vitest'
import { HELD_BODY_BYTES, JsonBodyReader } from './json-body-reader.ts'
import { JsonFieldReader, jsonPaths } from './json-field-reader.ts'

const PATHS = jsonPaths(['usage', 'model', 'response.usage', 'id'])

/** read feeds a body in pieces of `size` bytes to a reader and returns what it found. */
function read(reader: JsonBodyReader | JsonFieldReader, text: string, size = Number.POSITIVE_INFINITY) {
  const buf = Buffer.from(text)
  const step = Math.min(size, buf.length)
  for (let i = 0; i < buf.length; i += step) reader.write(buf.subarray(i, i + step))
  reader.end()
  return { values: Object.fromEntries(reader.values), overflowed: [...reader.overflowed] }
}

const DOCUMENTS: [string, string][] = [
  [
    'a chat answer',
    JSON.stringify({
      id: 'chatcmpl-1',
      model: 'gpt-4o-mini',
      choices: [{ message: { content: 'hi "usage": {}' } }],
      usage: { prompt_tokens: 7, completion_tokens: 12, prompt_tokens_details: { cached_tokens: 0 } },
    }),
  ],
  ['usage in metadata and arrays only', JSON.stringify({ metadata: { usage: 1 }, data: [{ usage: 2 }] })],
  ['a nested path', JSON.stringify({ response: { usage: { input_tokens: 3 }, model: 'm' } })],
  ['null and duplicate keys', '{"usage": null, "model": "a", "model": "b"}'],
  ['an escaped key', '{"us\\u0061ge": {"k": 1}}'],
  ['a response that is not an object', '[{"usage": {"a": 1}}]'],
  ['a path through a non-object', '{"response": [1, 2], "usage": "text"}'],
]

describe('JsonBodyReader', () => {
  it.each(DOCUMENTS)('finds what the byte scan finds: %s', (_name, text) => {
    const scanned = read(new JsonFieldReader(PATHS), text)
    for (const size of [Number.POSITIVE_INFINITY, 1, 7])
      expect(read(new JsonBodyReader(PATHS), text, size)).toEqual(scanned)
  })

  it('still finds the usage of a body malformed after it', () => {
    const text = '{"model": "m", "usage": {"prompt_tokens": 4}, "choices": [oops'
    expect(read(new JsonBodyReader(PATHS), text).values).toEqual({ model: 'm', usage: { prompt_tokens: 4 } })
  })

  it('reads a body larger than it holds as it streams past, with the same result', () => {
    const big = JSON.stringify({
      data: Array.from({ length: 2000 }, (_, i) => ({ embedding: [i, i + 0.5, i + 0.25], usage: { no: i } })),
      model: 'text-embedding-3-small',
      usage: { prompt_tokens: 2000 },
    })
    expect(big.length).toBeGreaterThan(HELD_BODY_BYTES)
    const scanned = read(new JsonFieldReader(PATHS), big)
    expect(scanned.values).toEqual({ model: 'text-embedding-3-small', usage: { prompt_tokens: 2000 } })
    expect(read(new JsonBodyReader(PATHS), big, 16 * 1024)).toEqual(scanned)
  })

  it('reports a usage value too large to keep once the body is scanned', () => {
    const text = JSON.stringify({ usage: { pad: 'x'.repeat(1.5 * 2 ** 20) }, model: 'm' })
    expect(read(new JsonBodyReader(PATHS), text, 64 * 1024)).toEqual({
      values: { model: 'm' },
      overflowed: ['usage'],
    })
  })
})
