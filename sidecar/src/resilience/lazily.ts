/** LazyWriter is a Redis client that can hold back commands nobody waits for (CoalescingRedis). */
export interface LazyWriter {
  lazily<T>(send: () => T): T
}

const isLazyWriter = (client: object): client is LazyWriter =>
  typeof (client as Partial<LazyWriter>).lazily === 'function'

/**
 * lazily sends the commands `send` issues (synchronously) as lazy ones: they may wait a moment
 * to share a socket write with the next command a call waits for. Any other client sends them
 * at once. Kept apart from redis-client.ts so that its callers need not load ioredis.
 */
export function lazily<T>(client: object, send: () => T): T {
  return isLazyWriter(client) ? client.lazily(send) : send()
}
