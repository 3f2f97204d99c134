import type { RedisClient } from '../../operator/src/redis/redis-client.ts'

/**
 * usedOf reads a limit or budget counter less the unused leases the sidecars hold on it: leases
 * are charged in advance (docs/limits.md), so this is what calls used. Both are read in one
 * MULTI (one tenant's keys share a slot, so this works on a Redis Cluster too).
 */
export async function usedOf(redis: RedisClient, counter: string, leases: string): Promise<number> {
  const [[, value], [, held]] = (await redis.multi().get(counter).hgetall(leases).exec()) as [
    [null, string | null],
    [null, Record<string, string>],
  ]
  const unused = Object.values(held)
    .map((v) => v.split(':'))
    .filter((v) => v.slice(2).join(':') === counter)
    .reduce((sum, v) => sum + Number(v[0]), 0)
  return Number(value) - unused
}
