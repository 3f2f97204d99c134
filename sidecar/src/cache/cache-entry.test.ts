import { describe, expect, it } from 'vitest'
import { type CacheEntry, decodeEntry, encodeEntry, pickHeaders } from './cache-entry.ts'

const entry = (body: CacheEntry['body']): CacheEntry => ({
  tenant: 'acme',
  storedAt: 1_795_000_000_000,
  expiresAt: 1_795_003_600_000,
  status: 200,
  headers: { 'content-type': 'text/event-stream' },
  body,
})

describe('cache entry format', () => {
  it('round-trips a streamed body with its chunk boundaries and binary bytes', () => {
    const chunks = [
      Buffer.from('data: {"a":1}\n\n'),
      Buffer.from([0, 255, 10, 13]),
      Buffer.from('data: [DONE]\n\n'),
    ]
    const decoded = decodeEntry(encodeEntry(entry({ kind: 'sse', chunks })))
    expect(decoded).toEqual(entry({ kind: 'sse', chunks }))
  })

  it('round-trips a one-buffer body', () => {
    const data = Buffer.from('{"id":"x"}')
    expect(decodeEntry(encodeEntry(entry({ kind: 'buffer', data })))).toEqual(entry({ kind: 'buffer', data }))
  })

  it('decodes into memory of its own, exactly the body, not a slice of what Redis sent', () => {
    const data = Buffer.from('{"id":"x"}')
    const read = Buffer.concat([
      Buffer.from('other reply bytes'),
      encodeEntry(entry({ kind: 'buffer', data })),
    ])
    const decoded = decodeEntry(read.subarray(17))
    expect(decoded.body.kind === 'buffer' && decoded.body.data.buffer.byteLength).toBe(data.length)
  })

  it('refuses data that is not an entry', () => {
    expect(() => decodeEntry(Buffer.from('hello world'))).toThrow(/bad magic/)
    const truncated = encodeEntry(entry({ kind: 'buffer', data: Buffer.from('abc') })).subarray(0, -1)
    expect(() => decodeEntry(truncated)).toThrow(/length mismatch/)
  })

  it('keeps only the stored headers', () => {
    expect(
      pickHeaders({
        'content-type': 'application/json',
        'x-request-id': 'r',
        'openai-model': 'gpt-4o',
        date: 'x',
      }),
    ).toEqual({ 'content-type': 'application/json', 'openai-model': 'gpt-4o' })
  })
})
