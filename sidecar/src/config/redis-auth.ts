import { isCluster, type RedisClient } from './redis-client.ts'

/**
 * authenticate sets the Redis user clients log in with, and connects those that wait for one.
 * ioredis reads `options.username`/`password` at every (re)connect, and a cluster client its
 * `redisOptions` at every node connection it opens, so a rotated password takes effect at the
 * next reconnect; connections already open stay as they are (Redis does not log them out when a
 * user's passwords change).
 */
export function authenticate(
  clients: readonly RedisClient[],
  user: { username: string; password: string },
): void {
  for (const client of clients) {
    if (isCluster(client)) client.options.redisOptions ??= {}
    const options = isCluster(client) ? (client.options.redisOptions ?? {}) : client.options
    options.username = user.username
    options.password = user.password
    if (client.status === 'wait') client.connect().catch(() => {})
  }
}

/** hasCredentials is true for a Redis URL that names a user or password. */
export const hasCredentials = (url: string) => {
  try {
    const parsed = new URL(url)
    return parsed.username !== '' || parsed.password !== ''
  } catch {
    return false
  }
}
