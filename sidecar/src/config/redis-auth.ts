import type { Cluster, Redis } from 'ioredis'
import type { RedisClient } from './redis-client.ts'

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
    // (client.isCluster, not redis-client.ts's isCluster: this file is loaded without ioredis)
    for (const options of client.isCluster
      ? clusterNodeOptions(client as Cluster)
      : [(client as Redis).options]) {
      options.username = user.username
      options.password = user.password
    }
    if (client.status === 'wait') client.connect().catch(() => {})
  }
}

/**
 * clusterNodeOptions are the options a cluster client gives each node connection it opens: its
 * `redisOptions` (read by the sharded subscribers) and the copy ioredis 6 makes of them for its
 * connection pool at construction. ioredis has no API to change a cluster's credentials, so the
 * copy is reached by its (untyped, unexported) name; test/sidecar/managed.test.ts runs on a
 * cluster (project stack-cluster) and fails if that copy moves. It can go once ioredis takes a
 * credentials provider for clusters.
 */
function clusterNodeOptions(client: Cluster): { username?: string; password?: string }[] {
  client.options.redisOptions ??= {}
  const pool = (client as unknown as { connectionPool?: { redisOptions?: { username?: string } } })
    .connectionPool?.redisOptions
  if (!pool) throw new Error('ioredis cluster client without a connection pool: cannot set its Redis user')
  return [client.options.redisOptions, pool]
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
