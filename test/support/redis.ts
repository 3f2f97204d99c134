import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { afterAll } from 'vitest'
import { type RedisService, startRedis } from '../../hack/stack/redis.ts'

const started = new Set<RedisService>()

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
  redis: Redis,
  key: string,
  series: string,
  counter: string,
): Promise<number> {
  let sum = 0
  for (const [field, value] of Object.entries(await redis.hgetall(key)))
    if (field.startsWith(`${series}|${counter}|`)) sum += Number(value)
  return sum
}
