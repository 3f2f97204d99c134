import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type RedisService, startRedis } from '../../hack/stack/redis.ts'

/**
 * privateRedis starts a redis-server of the test's own, for tests that stop, pause or restart
 * it (the shared stack's Redis must stay up for everyone else). close() removes it.
 */
export const privateRedis = (): Promise<RedisService> =>
  startRedis({ dir: mkdtempSync(join(tmpdir(), 'tollgate-redis-')) })
