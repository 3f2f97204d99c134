import { keys, usageField, usageHour } from '@tollgate/api'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { stringify } from 'yaml'
import { eventually, readConfig, startTestOperator, tenantDoc, uniqueName } from '../operator/support.ts'
import { kubectlOK } from '../support/kubectl.ts'
import { createDatabase } from '../support/postgres.ts'
import { stackRedis } from '../support/redis.ts'

// The per-tenant cap of the end-user dimension, through the real flush: usage of five users in
// one hour, as sidecars write it to Redis, into a ledger that keeps two (--end-users-per-hour 2).

const stack = inject('stack')
const id = uniqueName('cap')
let operator: Awaited<ReturnType<typeof startTestOperator>>
let databaseUrl: string
const redis = stackRedis(stack.redisUrl)

beforeAll(async () => {
  databaseUrl = await createDatabase(stack.databaseUrl, 'cap')
  operator = await startTestOperator({
    kubeconfig: stack.kubeconfig,
    redisUrl: stack.redisUrl,
    databaseUrl,
    selector: `tollgate.dev/test=${id}`,
    leaseName: id,
    endUsersPerHour: 2,
  })
})

afterAll(async () => {
  await operator?.stop()
  redis.disconnect()
})

describe('the end-user cap', () => {
  it('keeps the first users of the hour in name order and counts the rest as other, the totals unchanged', async () => {
    await kubectlOK(stack, ['apply', '-f', '-'], stringify(tenantDoc(id, { 'tollgate.dev/test': id })))
    await eventually(() => readConfig(redis, id))
    const hour = usageHour(new Date())
    const dims = (user: string) => ({ workload: 'deployment/chat', user })
    const users = { erin: 1, carol: 2, alice: 3, dave: 4, bob: 5 }
    for (const [user, requests] of Object.entries(users))
      await redis.hset(keys.usage(id, hour), {
        [usageField('openai', 'gpt-4o-mini', 'team-a', 'requests', 'i1', dims(user))]: requests,
        [usageField('openai', 'gpt-4o-mini', 'team-a', 'costNano', 'i1', dims(user))]: requests * 1000,
      })
    await redis.sadd(keys.usageHours(id), hour)
    const db = new pg.Client({ connectionString: databaseUrl })
    await db.connect()
    try {
      const rows = await eventually(async () => {
        const { rows } = await db.query<{ end_user: string; requests: number; cost: number }>(
          `SELECT end_user, requests::int, cost_nano::int AS cost FROM usage_hourly WHERE tenant = $1 ORDER BY end_user`,
          [id],
        )
        return rows.length === 3 && rows
      })
      expect(rows).toEqual([
        { end_user: 'alice', requests: 3, cost: 3000 },
        { end_user: 'bob', requests: 5, cost: 5000 },
        { end_user: 'other', requests: 1 + 2 + 4, cost: 7000 },
      ])
      // a later flush of the same hour with one more user decides alike: alice and bob keep theirs
      await redis.hset(keys.usage(id, hour), {
        [usageField('openai', 'gpt-4o-mini', 'team-a', 'requests', 'i1', dims('aaron'))]: 6,
      })
      await redis.sadd(keys.usageHours(id), hour)
      await eventually(async () => {
        const { rows } = await db.query<{ n: number }>(
          `SELECT requests::int AS n FROM usage_hourly WHERE tenant = $1 AND end_user = 'other'`,
          [id],
        )
        return rows[0]?.n === 13
      })
      const { rows: after } = await db.query<{ end_user: string }>(
        `SELECT DISTINCT end_user FROM usage_hourly WHERE tenant = $1 ORDER BY 1`,
        [id],
      )
      expect(after.map((r) => r.end_user)).toEqual(['alice', 'bob', 'other'])
    } finally {
      await db.end()
    }
  })
})
