/**
 * RedisMode is how operator and sidecar reach Redis (`--redis-mode`, `TOLLGATE_REDIS_MODE`):
 * `single`, one node (or a proxy in front of one); `cluster`, a Redis (or Valkey) Cluster whose
 * URL names one seed node, from which the client learns every other node. Everything else is
 * the same in both: the keys of a tenant share one hash slot, config changes go over sharded
 * pub/sub (SPUBLISH, which a single 7.x node serves too), and the tenants' ACL users are set on
 * every node.
 */
export type RedisMode = 'single' | 'cluster'

export const REDIS_MODES: readonly RedisMode[] = ['single', 'cluster']

/** isRedisMode is true for `single` and `cluster`. */
export const isRedisMode = (value: string): value is RedisMode =>
  (REDIS_MODES as readonly string[]).includes(value)

/** ClusterSeed is a cluster URL taken apart: the seed node, and what every node connection takes. */
export interface ClusterSeed {
  seed: { host: string; port: number }
  options: { username?: string; password?: string; tls?: { servername: string } }
}

/**
 * clusterSeed splits a `redis[s]://[user:password@]host:port` URL into the seed node and the
 * options of every node connection: a cluster client discovers the other nodes by address only,
 * so user, password and TLS must be given to all of them, not to the seed alone.
 */
export function clusterSeed(url: string): ClusterSeed {
  const u = new URL(url)
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new Error(`Redis URL must be redis:// or rediss://, not ${u.protocol}`)
  if (u.pathname.length > 1 && u.pathname !== '/0')
    throw new Error('a Redis Cluster has database 0 only; the URL names another')
  const host = u.hostname.replace(/^\[|\]$/g, '')
  return {
    seed: { host, port: Number(u.port || 6379) },
    options: {
      ...(u.username && { username: decodeURIComponent(u.username) }),
      ...(u.password && { password: decodeURIComponent(u.password) }),
      ...(u.protocol === 'rediss:' && { tls: { servername: host } }),
    },
  }
}
