import { describe, expect, it } from 'vitest'
import { WorkQueue } from './work-queue.ts'

const queue = () => new WorkQueue({ backoff: { baseMs: 5, maxMs: 40 } })

describe('WorkQueue', () => {
  it('dedupes a key that is already waiting', async () => {
    const q = queue()
    q.add('a')
    q.add('b')
    q.add('a')
    expect(q.length).toBe(2)
    expect(await q.get()).toBe('a')
    expect(await q.get()).toBe('b')
  })

  it('never hands one key to two workers; a re-add while processing replays after done', async () => {
    const q = queue()
    q.add('a')
    const first = await q.get()
    q.add('a')
    expect(q.length).toBe(0)
    let second: string | undefined
    const waiting = q.get().then((k) => {
      second = k
    })
    await new Promise((r) => setTimeout(r, 5))
    expect(second).toBeUndefined()
    q.done(first as string)
    await waiting
    expect(second).toBe('a')
  })

  it('grows the per-key backoff with each failure and resets it on forget', () => {
    const q = queue()
    expect(q.addRateLimited('a')).toBe(5)
    expect(q.addRateLimited('a')).toBe(10)
    expect(q.addRateLimited('a')).toBe(20)
    expect(q.addRateLimited('a')).toBe(40)
    expect(q.addRateLimited('a')).toBe(40)
    expect(q.addRateLimited('b')).toBe(5)
    expect(q.requeues('a')).toBe(5)
    q.forget('a')
    expect(q.requeues('a')).toBe(0)
    expect(q.addRateLimited('a')).toBe(5)
  })

  it('delivers a delayed key after its delay, keeping the earliest of several', async () => {
    const q = queue()
    q.addAfter('a', 200)
    q.addAfter('a', 10)
    q.addAfter('a', 500)
    const started = Date.now()
    expect(await q.get()).toBe('a')
    expect(Date.now() - started).toBeLessThan(200)
  })

  it('on shutdown wakes idle workers with undefined and waits for keys in progress', async () => {
    const q = queue()
    q.add('a')
    const key = await q.get()
    const idle = q.get()
    let stopped = false
    const shutdown = q.shutDown().then(() => {
      stopped = true
    })
    expect(await idle).toBeUndefined()
    await new Promise((r) => setTimeout(r, 5))
    expect(stopped).toBe(false)
    q.done(key as string)
    await shutdown
    expect(stopped).toBe(true)
    q.add('b')
    expect(await q.get()).toBeUndefined()
  })
})
