import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { correctionInstance, USAGE_COUNTERS, type UsageCounter } from '@tollgate/api'
import pg from 'pg'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createDatabase } from '../../../test/support/postgres.ts'
import { AlertsStore } from './alerts-store.ts'
import { Db } from './db.ts'
import { Ledger } from './ledger.ts'
import { migrate, migrationFiles } from './migrate.ts'

const stack = inject('stack')
const logger = pino({ level: 'silent' })
const cli = (...args: string[]) =>
  promisify(execFile)('node_modules/.bin/node', ['operator/src/main.ts', ...args], {
    cwd: new URL('../../..', import.meta.url).pathname,
  })
const counters = (values: Partial<Record<UsageCounter, number>>) =>
  Object.fromEntries(USAGE_COUNTERS.map((c) => [c, values[c] ?? 0])) as Record<UsageCounter, number>

describe('migrations', () => {
  it('go up, report status, go down and up again from the command line', async () => {
    const url = await createDatabase(stack.databaseUrl, 'migrate')
    const files = migrationFiles()
    const [first, last] = [files[0], files.at(-1)]
    expect(files.length).toBeGreaterThan(1)
    const lines = (verb: string, names: string[]) => names.map((n) => `${verb}\t${n}\n`).join('')
    expect((await cli('migrate', 'status', '--database', url)).stdout).toBe(lines('pending', files))
    expect((await cli('migrate', 'up', '--database', url)).stdout).toBe(lines('applied', files))
    expect((await cli('migrate', 'status', '--database', url)).stdout).toMatch(
      new RegExp(`^applied\\t${first}\\t\\d{4}-`),
    )
    expect((await cli('migrate', 'up', '--database', url)).stdout).toBe('nothing to migrate up\n')
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    const tables = async () =>
      (
        await client.query(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'pgmigrations' ORDER BY 1`,
        )
      ).rows.map((r) => r.table_name)
    const columns = async () =>
      (
        await client.query(
          `SELECT column_name FROM information_schema.columns WHERE table_name = 'usage_hourly' ORDER BY 1`,
        )
      ).rows.map((r) => r.column_name)
    expect(await tables()).toEqual([
      'alerts_sent',
      'audit',
      'policies',
      'refusals',
      'tenants',
      'usage_hourly',
      'usage_instances',
    ])
    expect(await columns()).toContain('cache_write_5m_tokens')
    expect(await columns()).toEqual(expect.arrayContaining(['workload', 'end_user']))
    // A row of two workloads and users folds into one series when the dimensions go.
    await client.query(
      `INSERT INTO usage_hourly (tenant, hour, provider, model, namespace, workload, end_user, requests)
       VALUES ('t', '2026-11-01T10:00Z', 'openai', 'm', 'ns', 'deployment/a', 'u1', 2),
              ('t', '2026-11-01T10:00Z', 'openai', 'm', 'ns', 'deployment/b', '', 3)`,
    )
    // Down reverts one at a time, the newest first: the refusals table, the workload and user
    // dimensions, the instances table, then the token classes.
    expect((await cli('migrate', 'down', '--database', url)).stdout).toBe(`reverted\t${last}\n`)
    expect(await tables()).not.toContain('refusals')
    expect((await cli('migrate', 'down', '--database', url)).stdout).toBe(`reverted\t${files.at(-2)}\n`)
    expect(await columns()).not.toContain('workload')
    expect(
      (await client.query(`SELECT requests::int AS n FROM usage_hourly WHERE tenant = 't'`)).rows,
    ).toEqual([{ n: 5 }])
    await client.query(`DELETE FROM usage_hourly WHERE tenant = 't'`)
    expect((await cli('migrate', 'down', '--database', url)).stdout).toBe(`reverted\t${files.at(-3)}\n`)
    expect(await tables()).toEqual(['alerts_sent', 'audit', 'policies', 'tenants', 'usage_hourly'])
    expect((await cli('migrate', 'down', '--database', url)).stdout).toBe(`reverted\t${files.at(-4)}\n`)
    expect(await columns()).not.toContain('cache_write_5m_tokens')
    expect(await columns()).toContain('cost_nano')
    for (const name of files.slice(0, -4).reverse())
      expect((await cli('migrate', 'down', '--database', url)).stdout).toBe(`reverted\t${name}\n`)
    expect(await tables()).toEqual([])
    await client.end()
    expect((await cli('migrate', 'up', '--database', url)).stdout).toBe(lines('applied', files))
  }, 120_000)

  it('run once when replicas migrate at the same time (advisory lock)', async () => {
    const url = await createDatabase(stack.databaseUrl, 'migrate')
    const runs = await Promise.all([1, 2, 3].map(() => migrate({ url, direction: 'up', logger })))
    expect(runs.flat()).toEqual(migrationFiles())
  })
})

describe('Db', () => {
  it('rejects a transaction whose connection is cut between two statements, and does not crash', async () => {
    const url = await createDatabase(stack.databaseUrl, 'db')
    const db = new Db({ url, logger })
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    const uncaught: unknown[] = []
    const record = (error: unknown) => uncaught.push(error)
    process.on('uncaughtException', record)
    try {
      const outcome = db.transaction(async (client) => {
        const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
        await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid])
        // The server's goodbye arrives while the transaction waits on something else.
        await new Promise((resolve) => setTimeout(resolve, 500))
        await client.query('SELECT 1')
      })
      await expect(outcome).rejects.toThrow()
      expect(uncaught).toEqual([])
    } finally {
      process.off('uncaughtException', record)
      await admin.end()
      await db.pool.end()
    }
  })
})

describe('the ledger', () => {
  let db: Db
  beforeAll(async () => {
    const url = await createDatabase(stack.databaseUrl, 'ledger')
    await migrate({ url, direction: 'up', logger })
    db = new Db({ url, logger })
  })
  afterAll(() => db?.close())

  it('stores absolute totals: a repeated flush changes nothing, a later one replaces', async () => {
    const ledger = new Ledger(db)
    const hour = new Date('2026-11-23T15:00:00Z')
    const row = (requests: number, costNano: number) => ({
      provider: 'openai',
      model: 'gpt-4o',
      namespace: 'prod',
      counters: counters({ requests, costNano, inputTokens: requests * 10 }),
    })
    expect(await ledger.write('acme', [{ hour, rows: [row(2, 500)] }])).toBe(1)
    expect(await ledger.write('acme', [{ hour, rows: [row(2, 500)] }])).toBe(0)
    expect(await ledger.write('acme', [{ hour, rows: [row(5, 1_250)] }])).toBe(1)
    const next = new Date('2026-11-23T16:00:00Z')
    await ledger.write('acme', [{ hour: next, rows: [row(1, 100)] }])
    expect(await ledger.totals('acme', hour, new Date('2026-11-23T17:00:00Z'))).toEqual({
      requests: 6,
      inputTokens: 60,
      outputTokens: 0,
      costNano: 1_350,
    })
    expect(await ledger.totals('acme', next, new Date('2026-11-23T17:00:00Z'))).toMatchObject({ requests: 1 })
    const records = await ledger.records('acme', hour, next)
    expect(records).toEqual([
      expect.objectContaining({
        hour: '2026-11-23T15:00:00.000Z',
        requests: 5,
        costNano: 1_250,
        inputTokens: 50,
      }),
    ])
  })

  it('sums the instances of a series and keeps the totals of one whose fields Redis lost', async () => {
    const ledger = new Ledger(db)
    const hour = new Date('2026-11-23T18:00:00Z')
    const to = new Date('2026-11-23T19:00:00Z')
    const row = (instance: string, requests: number) => ({
      provider: 'openai',
      model: 'gpt-4o',
      namespace: 'prod',
      instance,
      counters: counters({ requests }),
    })
    await ledger.write('instances', [{ hour, rows: [row('a', 5), row('b', 3)] }])
    expect((await ledger.totals('instances', hour, to)).requests).toBe(8)
    // Redis lost its data: instance a has gone, b wrote its totals back and counted one more.
    await ledger.write('instances', [{ hour, rows: [row('b', 4)] }])
    expect((await ledger.totals('instances', hour, to)).requests).toBe(9)
    // A smaller total of an instance never lowers the ledger.
    expect(await ledger.write('instances', [{ hour, rows: [row('a', 2)] }])).toBe(0)
    expect(await ledger.records('instances', hour, to)).toEqual([expect.objectContaining({ requests: 9 })])
  })

  it('takes a negative correction of a settled deferred call, and only from a correction instance', async () => {
    const ledger = new Ledger(db, {
      onSkip: (_t, _h, row, reason) => skipped.push(`${row.instance}: ${reason}`),
    })
    const skipped: string[] = []
    const hour = new Date('2026-11-23T20:00:00Z')
    const to = new Date('2026-11-23T21:00:00Z')
    const row = (instance: string, outputTokens: number, costNano: number) => ({
      provider: 'openai',
      model: 'gpt-4o-mini',
      namespace: 'prod',
      instance,
      counters: counters({ requests: instance === 'a' ? 1 : 0, outputTokens, costNano }),
    })
    // a batch counted at its estimate by sidecar a, then settled 1,464 tokens lower
    const correction = correctionInstance('oai/batch_1')
    await ledger.write('corrections', [
      { hour, rows: [row('a', 1_500, 450_000), row(correction, -1_464, -439_200)] },
    ])
    expect(await ledger.totals('corrections', hour, to)).toMatchObject({
      requests: 1,
      outputTokens: 36,
      costNano: 10_800,
    })
    // flushed again (the hour came back to the unflushed set), nothing changes
    await ledger.write('corrections', [{ hour, rows: [row(correction, -1_464, -439_200)] }])
    expect((await ledger.totals('corrections', hour, to)).costNano).toBe(10_800)
    // a sidecar's own instance never holds a negative count
    await ledger.write('corrections', [{ hour, rows: [row('b', -5, 0)] }])
    expect(skipped).toEqual(['b: outputTokens -5 is not a count'])
    expect((await ledger.totals('corrections', hour, to)).outputTokens).toBe(36)
  })

  it('writes many rows of one tenant in one transaction, in batches', async () => {
    const ledger = new Ledger(db)
    const hour = new Date('2026-11-23T10:00:00Z')
    const rows = Array.from({ length: 1_200 }, (_, i) => ({
      provider: 'openai',
      model: `m-${i}`,
      namespace: 'ns',
      counters: counters({ requests: 1 }),
    }))
    expect(await ledger.write('bulk', [{ hour, rows }])).toBe(1_200)
    expect((await ledger.totals('bulk', hour, new Date('2026-11-23T11:00:00Z'))).requests).toBe(1_200)
  })

  it('skips and reports a row it cannot store (a 3 KB model name) and writes the others', async () => {
    const skipped: { model: string; reason: string }[] = []
    const ledger = new Ledger(db, {
      onSkip: (_tenant, _hour, row, reason) => skipped.push({ model: row.model, reason }),
    })
    const hour = new Date('2026-11-23T12:00:00Z')
    const row = (model: string) => ({
      provider: 'openai',
      model,
      namespace: 'ns',
      counters: counters({ requests: 1 }),
    })
    const long = 'gpt-'.repeat(768)
    expect(await ledger.write('skips', [{ hour, rows: [row(long), row('gpt-4o')] }])).toBe(1)
    expect(skipped).toEqual([{ model: long, reason: expect.stringContaining('model') }])
    const records = await ledger.records('skips', hour, new Date('2026-11-23T13:00:00Z'))
    expect(records.map((r) => r.model)).toEqual(['gpt-4o'])
  })

  it('lets exactly one claim of an alert win', async () => {
    const alerts = new AlertsStore(db)
    const claim = {
      tenant: 'acme',
      period: 'day' as const,
      periodStart: new Date('2026-11-23T00:00:00Z'),
      threshold: 0.8,
      spendNano: 1,
      limitNano: 1,
      notified: true,
    }
    const results = await Promise.all([alerts.claim([claim]), alerts.claim([claim]), alerts.claim([claim])])
    expect(results.flat()).toHaveLength(1)
    expect(await alerts.recorded('acme', 'day', claim.periodStart)).toEqual([0.8])
  })
})
