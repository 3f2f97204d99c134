import { clusterSeed, type RedisMode } from '@tollgate/api'
import { Cluster, Redis, type RedisOptions } from 'ioredis'

/** RedisClient is the operator's connection: to one node, or to a Redis Cluster. */
export type RedisClient = Redis | Cluster

/** Fail commands after a couple of reconnect attempts: a reconcile must not hang on Redis. */
const COMMON: RedisOptions = { maxRetriesPerRequest: 2, connectTimeout: 3_000 }
/** SLOTS_REFRESH_MS is how often the operator reads a cluster's slot map. */
export const SLOTS_REFRESH_MS = 5_000
const reconnectDelay = (times: number) => Math.min(times * 100, 2_000)

/**
 * connectRedis opens the operator's Redis. In cluster mode the URL names a seed node; its user,
 * password, TLS (`rediss:`) and database apply to every node the client discovers.
 */
export function connectRedis(url: string, mode: RedisMode): RedisClient {
  if (mode === 'single') return new Redis(url, { ...COMMON, retryStrategy: reconnectDelay })
  const { seed, options } = clusterSeed(url)
  return new Cluster([seed], {
    redisOptions: { ...COMMON, ...options },
    clusterRetryStrategy: reconnectDelay,
    // The slot map is read again this often: how soon the operator sees a node that joined or
    // came back, and writes the tenants' ACL users there ('+node').
    slotsRefreshInterval: SLOTS_REFRESH_MS,
  })
}

/**
 * redisNodes are the connections to each node: the client itself on a single node; on a cluster
 * the masters, or all nodes (masters and replicas), as the client last saw the slot map.
 */
export function redisNodes(client: RedisClient, role: 'master' | 'all'): Redis[] {
  return client instanceof Cluster ? client.nodes(role) : [client]
}
