import { clusterSeed, type RedisMode } from '@tollgate/api/redis-mode.ts'
import { Cluster, Redis, type RedisOptions } from 'ioredis'

/** RedisClient is a connection to one Redis node or to a Redis Cluster (`--redis-mode`). */
export type RedisClient = Redis | Cluster

/**
 * isCluster is true for a Redis Cluster client. It reads ioredis's own `isCluster` flag rather
 * than `instanceof`, so that redis-auth.ts (loaded by flags.ts in every mode) needs no ioredis.
 */
export const isCluster = (client: RedisClient): client is Cluster => client.isCluster

/**
 * connectRedis opens a client that never hangs a request: no offline queue (a command while
 * disconnected fails at once), a short command timeout, no per-command retries, and reconnects
 * forever in the background with a capped backoff. With `lazy` it connects only when told to
 * (managed mode: once the exchange gave it a Redis user). No ready check: it needs INFO (one
 * node) or CLUSTER INFO (a cluster), which a tenant's Redis user may not run. In cluster mode
 * the URL names a seed node, and every node it learns of gets the same user and options.
 */
export function connectRedis(url: string, name: string, mode: RedisMode, lazy = false): RedisClient {
  const node: RedisOptions = {
    connectionName: name,
    enableReadyCheck: false,
    commandTimeout: 1_000,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
  }
  const retry = (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2_000)
  if (mode === 'single')
    return new Redis(url, { ...node, enableOfflineQueue: false, retryStrategy: retry, lazyConnect: lazy })
  const { seed, options } = clusterSeed(url)
  const cluster = new Cluster([seed], {
    ...CLUSTER_FAIL_FAST,
    enableOfflineQueue: false,
    lazyConnect: lazy,
    clusterRetryStrategy: retry,
    redisOptions: { ...node, ...options },
  })
  connectMasters(cluster)
  return cluster
}

/**
 * connectMasters connects to each master as soon as the cluster client learns of it, and to a
 * replica when a failover makes it a master: ioredis would connect on the first command, and
 * without an offline queue the commands sent while that connection opens fail. onChange hears
 * of every change of a node's connection and of the slot map.
 */
export function connectMasters(cluster: Cluster, onChange: () => void = () => {}): void {
  cluster.on('+node', (node: Redis) => {
    for (const event of ['ready', 'close', 'end'] as const) node.on(event, onChange)
    if (!node.options.readOnly) node.connect().catch(() => {})
  })
  cluster.on('-node', onChange)
  cluster.on('ready', onChange)
  cluster.on('refresh', () => {
    for (const node of cluster.nodes('master')) if (node.status === 'wait') node.connect().catch(() => {})
    onChange()
  })
}

/**
 * CLUSTER_FAIL_FAST keeps a cluster client from holding commands while a master fails over: a
 * CLUSTERDOWN or a closed connection fails the command at once (ioredis would wait and resend it,
 * and a resent reserve may run twice), and the slot map is asked again. No cluster ready check
 * (CLUSTER INFO). MOVED and ASK are still followed: the command was not run where it was sent.
 */
export const CLUSTER_FAIL_FAST = {
  enableReadyCheck: false,
  retryDelayOnFailover: 0,
  retryDelayOnClusterDown: 0,
  retryDelayOnTryAgain: 50,
  maxRedirections: 4,
  slotsRefreshTimeout: 1_000,
  slotsRefreshInterval: 2_000,
} as const

/**
 * duplicateForSubscriptions opens a second connection for SSUBSCRIBE. On a cluster it keeps one
 * subscriber per master (ioredis `shardedSubscribers`), which follows the tenant's slot to a new
 * master after a failover and emits `subscribersReady` once subscribed again. The offline queue
 * holds SSUBSCRIBE until the connection is up.
 */
export function duplicateForSubscriptions(client: RedisClient, name: string): RedisClient {
  if (!isCluster(client)) return client.duplicate({ enableOfflineQueue: true, connectionName: name })
  return client.duplicate(undefined, {
    enableOfflineQueue: true,
    shardedSubscribers: true,
    redisOptions: { ...client.options.redisOptions, connectionName: name },
  })
}
