import { describe, expect, it } from 'vitest'
import { privateRedis } from '../../../test/support/redis.ts'
import { DataRedis, type RedisState, reconnectDelay } from './redis-client.ts'

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
    const admin = new DataRedis({ url: server.url })
    await Promise.all([redis.waitUntilUp(5_000), admin.waitUntilUp(5_000)])
    // CLIENT PAUSE makes the server hold every client's commands: a hung Redis, for real
    await admin.client.call('CLIENT', 'PAUSE', '3000', 'ALL')
    await expect(redis.client.get('x')).rejects.toThrow(/timed out/i)
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
})
