import { describe, expect, it } from 'vitest'
import { ResponseRecorder } from './response-recorder.ts'

describe('ResponseRecorder', () => {
  it('keeps every write as one chunk, or joins them for a plain body', () => {
    const recorder = new ResponseRecorder(100)
    for (const part of ['data: a\n\n', 'data: b\n\n', 'data: [DONE]\n\n']) recorder.write(part)
    expect(recorder.body('sse')).toEqual({
      kind: 'sse',
      chunks: [Buffer.from('data: a\n\n'), Buffer.from('data: b\n\n'), Buffer.from('data: [DONE]\n\n')],
    })
    expect(recorder.body('buffer')).toEqual({
      kind: 'buffer',
      data: Buffer.from('data: a\n\ndata: b\n\ndata: [DONE]\n\n'),
    })
  })

  it('drops the recording once the body passes maxBytes', () => {
    const recorder = new ResponseRecorder(10)
    recorder.write(Buffer.alloc(6))
    expect(recorder.overflowed).toBe(false)
    recorder.write(Buffer.alloc(5))
    recorder.write(Buffer.alloc(1))
    expect(recorder.overflowed).toBe(true)
    expect(recorder.body('buffer')).toBeUndefined()
  })

  it('hands over a body in memory of its own, exactly its size, that later writes to a buffer do not change', () => {
    const recorder = new ResponseRecorder(1024)
    // small Buffers are slices of a shared 8 KiB pool slab, as a socket's reads are of the read
    const written = ['data: a\n\n', 'data: [DONE]\n\n'].map((s) => Buffer.from(s))
    expect(written[0]?.buffer.byteLength).toBeGreaterThan(written[0]?.length ?? 0)
    for (const chunk of written) recorder.write(chunk)
    const size = written.reduce((n, chunk) => n + chunk.length, 0)
    const sse = recorder.body('sse')
    const plain = recorder.body('buffer')
    for (const chunk of written) chunk.fill(0)
    if (sse?.kind !== 'sse' || plain?.kind !== 'buffer') throw new Error('expected both bodies')
    expect(sse.chunks.map(String)).toEqual(['data: a\n\n', 'data: [DONE]\n\n'])
    expect(sse.chunks[0]?.buffer.byteLength).toBe(size)
    expect(sse.chunks[1]?.buffer).toBe(sse.chunks[0]?.buffer)
    expect(String(plain.data)).toBe('data: a\n\ndata: [DONE]\n\n')
    expect(plain.data.buffer.byteLength).toBe(size)
  })
})
