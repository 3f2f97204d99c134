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

  it('copies what it records, so a reused buffer does not change the entry', () => {
    const recorder = new ResponseRecorder(10)
    const reused = Buffer.from('abc')
    recorder.write(reused)
    reused.write('xyz')
    expect(recorder.body('buffer')).toEqual({ kind: 'buffer', data: Buffer.from('abc') })
  })
})
