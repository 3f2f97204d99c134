import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RedisMode } from '@tollgate/api'
import { afterAll, inject } from 'vitest'
import { type RedisService, startRedis } from '../../hack/stack/redis.ts'
import { type RedisClusterService, startRedisCluster } from '../../hack/stack/redis-cluster.ts'
import { connectRedis, type RedisClient, redisNodes } from '../../operator/src/redis/redis-client.ts'

const started = new Set<RedisService | RedisClusterService>()

// A test that fails before its own close() must not leave its server running.
afterAll(async () => {
  await Promise.all([...started].map((server) => server.close()))
  started.clear()
})

/**
 * privateRedis starts a redis-server of the test's own, for tests that stop, pause or restart
 * it (the shared stack's Redis must stay up for everyone else). It has the stack's users: `url`
 * is the operator's, `adminUrl` the admin's, `sidecarUrl` carries none. close() removes it;
 * whatever a test file leaves open is closed after its last test.
 */
export async function privateRedis(): Promise<RedisService> {
  const server = await startRedis({ dir: mkdtempSync(join(tmpdir(), 'tollgate-redis-')) })
  started.add(server)
  return server
}

/**
 * privateRedisCluster starts a Redis Cluster of the test's own (three masters, three replicas, the
 * stack's users), for tests that kill its nodes. Closed like privateRedis.
 */
export async function privateRedisCluster(): Promise<RedisClusterService> {
  const cluster = await startRedisCluster({ dir: mkdtempSync(join(tmpdir(), 'tollgate-redis-cluster-')) })
  started.add(cluster)
  return cluster
}

/** redisUrlAs is a Redis URL with a user and password put in, as a sidecar logs in after its exchange. */
export function redisUrlAs(url: string, user: string, password: string): string {
  const u = new URL(url)
  u.username = encodeURIComponent(user)
  u.password = encodeURIComponent(password)
  return u.toString()
}

/**
 * usageCounter sums one counter of a series over the sidecar instances in a usage hour hash
 * (`provider|model|namespace|counter|instance` fields, keys.usage).
 */
export async function usageCounter(
  redis: RedisClient,
  key: string,
  series: string,
  counter: string,
): Promise<number> {
  let sum = 0
  for (const [field, value] of Object.entries(await redis.hgetall(key)))
    if (field.startsWith(`${series}|${counter}|`)) sum += Number(value)
  return sum
}

/**
 * stackRedis connects to a URL of the shared stack in its topology (`inject('stack').redisMode`),
 * as the operator does (operator/src/redis/redis-client.ts), for tests that read or write keys.
 */
export function stackRedis(url: string, mode: RedisMode = inject('stack').redisMode): RedisClient {
  const client = connectRedis(url, mode)
  client.on('error', () => {})
  return client
}

/** nodesOf are the connections to every node of a client (itself on a single node), once it knows them. */
export async function nodesOf(
  client: RedisClient,
  role: 'master' | 'all' = 'all',
): Promise<ReturnType<typeof redisNodes>> {
  await client.ping()
  return redisNodes(client, role)
}

/** scanAll lists the keys matching a pattern on every master (SCAN sees one node's keys). */
export async function scanAll(client: RedisClient, pattern: string): Promise<string[]> {
  const found: string[] = []
  for (const node of await nodesOf(client, 'master')) {
    let cursor = '0'
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      found.push(...batch)
    } while (cursor !== '0')
  }
  return found
}
