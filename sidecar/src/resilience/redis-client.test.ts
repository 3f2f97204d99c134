import { describe, expect, it } from 'vitest'
import { privateRedis } from '../../../test/support/redis.ts'
import { lazily } from './lazily.ts'
import { DataRedis, type RedisState, reconnectDelay } from './redis-client.ts'

// The clients under test log in as a standalone sidecar does (privateRedis' `url`: the operator's
// user, Tollgate's keys only); `admin` pauses the server and reads its stats.
const KEY = 'tollgate:v1:{redis-client-test}:'

describe('reconnectDelay', () => {
  it.each([
    [0, 0, 50],
    [1, 0, 100],
    [3, 0, 400],
    [6, 0, 2_000],
    [100, 0.99, 2_099],
  ])('attempt %d with jitter draw %d waits %d ms', (attempt, random, ms) => {
    expect(reconnectDelay(attempt, 2_000, () => random)).toBe(ms)
  })
})

describe('DataRedis', () => {
  it('reports down when Redis stops, fails commands at once, and recovers by itself', async () => {
    const server = await privateRedis()
    const redis = new DataRedis({ url: server.url })
    const states: RedisState[] = []
    redis.onChange((s) => states.push(s))
    await redis.waitUntilUp(5_000)
    expect(redis.state()).toBe('up')

    await server.stop()
    await expect(redis.client.ping()).rejects.toThrow()
    expect(redis.isUp()).toBe(false)

    await server.start()
    await redis.waitUntilUp(10_000)
    expect(await redis.client.ping()).toBe('PONG')
    expect(states.slice(0, 3)).toEqual(['up', 'down', 'up'])
    await redis.close()
    await server.close()
  })

  it('times a command out when Redis stops answering instead of waiting for it', async () => {
    const server = await privateRedis()
    const redis = new DataRedis({ url: server.url, commandTimeoutMs: 200 })
    const admin = new DataRedis({ url: server.adminUrl })
    await Promise.all([redis.waitUntilUp(5_000), admin.waitUntilUp(5_000)])
    // CLIENT PAUSE makes the server hold every client's commands: a hung Redis, for real
    await admin.client.call('CLIENT', 'PAUSE', '3000', 'ALL')
    await expect(redis.client.get(`${KEY}x`)).rejects.toThrow(/timed out/i)
    await redis.close()
    await admin.close()
    await server.close()
  })

  it('rejects waitUntilUp when Redis cannot be reached', async () => {
    const server = await privateRedis()
    await server.close()
    const redis = new DataRedis({ url: server.url })
    await expect(redis.waitUntilUp(300)).rejects.toThrow('wait for Redis')
    expect(redis.lastError()).toBeInstanceOf(Error)
    await redis.close()
  })

  describe('coalescing', () => {
    /** readsBy is how many socket reads Redis processed while `work` ran (INFO's own read excluded). */
    const readsBy = async (admin: DataRedis, work: () => Promise<unknown>) => {
      const reads = async () =>
        Number(/total_reads_processed:(\d+)/.exec(await admin.client.info('stats'))?.[1])
      const before = await reads()
      await work()
      return (await reads()) - before - 1
    }

    it('sends the commands of one turn of the event loop in one write', async () => {
      const server = await privateRedis()
      const redis = new DataRedis({ url: server.url })
      const admin = new DataRedis({ url: server.adminUrl })
      await Promise.all([redis.waitUntilUp(5_000), admin.waitUntilUp(5_000)])
      const together = await readsBy(admin, () =>
        Promise.all(Array.from({ length: 10 }, (_, i) => redis.client.set(`${KEY}k${i}`, String(i)))),
      )
      const apart = await readsBy(admin, async () => {
        for (let i = 0; i < 10; i++) await redis.client.get(`${KEY}k${i}`)
      })
      expect(together).toBe(1)
      expect(apart).toBe(10)
      await redis.close()
      await admin.close()
      await server.close()
    })

    it('holds a lazy command for the next urgent one, keeping their order', async () => {
      const server = await privateRedis()
      const redis = new DataRedis({ url: server.url, lazyWriteMs: 5_000 })
      const admin = new DataRedis({ url: server.adminUrl })
      await Promise.all([redis.waitUntilUp(5_000), admin.waitUntilUp(5_000)])
      const reads = await readsBy(admin, async () => {
        const written = lazily(redis.client, () => redis.client.set(`${KEY}lazy`, 'v'))
        await new Promise((r) => setTimeout(r, 50))
        expect(await admin.client.get(`${KEY}lazy`)).toBeNull()
        expect(await redis.client.get(`${KEY}lazy`)).toBe('v')
        expect(await written).toBe('OK')
      })
      // the lazy SET and the urgent GET arrived together; the admin's own GET is the other read
      expect(reads).toBe(2)
      await redis.close()
      await admin.close()
      await server.close()
    })

    it('sends a lazy command on its own once lazyWriteMs passed', async () => {
      const server = await privateRedis()
      const redis = new DataRedis({ url: server.url, lazyWriteMs: 20 })
      await redis.waitUntilUp(5_000)
      expect(await lazily(redis.client, () => redis.client.set(`${KEY}alone`, 'v'))).toBe('OK')
      expect(await redis.client.get(`${KEY}alone`)).toBe('v')
      await redis.close()
      await server.close()
    })
  })
})
