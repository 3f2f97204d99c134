import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keys, usageField, usageHour } from '@tollgate/api'
import { Redis } from 'ioredis'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { stringify } from 'yaml'
import { type PostgresService, startPostgres } from '../../hack/stack/postgres.ts'
import { kubectlOK } from '../support/kubectl.ts'
import { eventually, readConfig, startTestOperator, tenantDoc, uniqueName } from './support.ts'

const stack = inject('stack')
const run = uniqueName('pgdown')
const label = { 'tollgate.dev/test': run }
const dir = mkdtempSync(join(tmpdir(), 'tollgate-pgdown-'))

let postgres: PostgresService
let operator: Awaited<ReturnType<typeof startTestOperator>>
let redis: Redis

beforeAll(async () => {
  postgres = await startPostgres({ dir })
  redis = new Redis(stack.redisUrl)
  operator = await startTestOperator({
    kubeconfig: stack.kubeconfig,
    redisUrl: stack.redisUrl,
    databaseUrl: postgres.url,
    selector: `tollgate.dev/test=${run}`,
    leaseName: run,
  })
})

afterAll(async () => {
  await operator?.stop()
  redis?.disconnect()
  await postgres?.close()
  rmSync(dir, { recursive: true, force: true })
})

/** ledgerTotals reads the ledger straight from Postgres: requests and cost per hour. */
async function ledgerTotals(tenant: string): Promise<Record<string, [number, number]>> {
  const client = new pg.Client({ connectionString: postgres.url })
  await client.connect()
  try {
    const { rows } = await client.query(
      `SELECT to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24') AS hour, sum(requests)::int AS r, sum(cost_nano)::bigint AS c
       FROM usage_hourly WHERE tenant = $1 GROUP BY 1 ORDER BY 1`,
      [tenant],
    )
    return Object.fromEntries(rows.map((row) => [row.hour, [row.r, Number(row.c)]]))
  } finally {
    await client.end()
  }
}

describe('a Postgres outage', () => {
  it('keeps configs flowing to Redis, and the ledger catches up with exact totals', async () => {
    const name = uniqueName('outage')
    const getSynced = async () =>
      JSON.parse(await kubectlOK(stack, ['get', 'tenant', name, '-o', 'json'])).status?.conditions?.find(
        (c: { type: string }) => c.type === 'Synced',
      )
    await kubectlOK(stack, ['apply', '-f', '-'], stringify(tenantDoc(name, label)))
    await eventually(() => readConfig(redis, name))
    const now = new Date()
    const hours = [usageHour(new Date(now.getTime() - 3_600_000)), usageHour(now)]
    const expected: Record<string, [number, number]> = {}
    // A sidecar's writes: absolute counters per hour, and the hour in the unflushed set.
    const spend = async (hour: string, requests: number, costNano: number) => {
      await redis.hincrby(keys.usage(name, hour), usageField('openai', 'gpt-4o', 'ns', 'requests'), requests)
      await redis.hincrby(keys.usage(name, hour), usageField('openai', 'gpt-4o', 'ns', 'costNano'), costNano)
      await redis.sadd(keys.usageHours(name), hour)
      const [r, c] = expected[hour] ?? [0, 0]
      expected[hour] = [r + requests, c + costNano]
    }
    await spend(hours[0] as string, 3, 3_000)
    await spend(hours[1] as string, 5, 5_000)
    await eventually(
      async () => JSON.stringify(await ledgerTotals(name)) === JSON.stringify(expected),
      20_000,
      'the first flush',
    )

    await postgres.stop()
    await kubectlOK(stack, ['apply', '-f', '-'], stringify(tenantDoc(name, label, { tier: 'pro' })))
    const updated = await eventually(
      async () => {
        const c = await readConfig(redis, name)
        return c?.tier === 'pro' && c
      },
      20_000,
      'the config while Postgres is down',
    )
    expect(updated.version).toBe(2)
    const synced = await eventually(
      async () => {
        const s = await getSynced()
        return s?.reason === 'DatabaseUnavailable' && s
      },
      20_000,
      'Synced=False',
    )
    expect(synced.status).toBe('False')
    await spend(hours[0] as string, 7, 70_000)
    await spend(hours[1] as string, 11, 110_000)
    await spend(hours[1] as string, 1, 1)
    expect((await readConfig(redis, name))?.version).toBe(2)

    await postgres.start()
    await eventually(
      async () => JSON.stringify(await ledgerTotals(name)) === JSON.stringify(expected),
      30_000,
      'the ledger to catch up',
    )
    expect(await ledgerTotals(name)).toEqual({
      [hours[0] as string]: [10, 73_000],
      [hours[1] as string]: [17, 115_001],
    })
    await eventually(async () => (await getSynced())?.status === 'True', 30_000, 'Synced=True again')
    const client = new pg.Client({ connectionString: postgres.url })
    await client.connect()
    const row = await client.query(
      `SELECT generation, spec->>'tier' AS tier, config_version FROM tenants WHERE name = $1`,
      [name],
    )
    await client.end()
    expect(row.rows[0]).toEqual({ generation: '2', tier: 'pro', config_version: '2' })
  }, 180_000)
})
