import { beforeAll, describe, expect, it } from 'vitest'
import {
  callFromApp,
  clusterEnv,
  dayUsage,
  demo,
  eventually,
  expectSpendAsServed,
  type Kube,
  kube,
  psql,
} from './support.ts'

// What a platform team reads in `kubectl get tenants` is what the provider billed: the fake
// provider's own count of tokens, priced with the shipped table.

let k: Kube
beforeAll(async () => {
  k = kube(await clusterEnv())
})

describe('spend, as deployed', () => {
  it('the ledger has rows: the operator image ran its migrations', async () => {
    const migrations = await psql(k, 'SELECT name FROM pgmigrations ORDER BY id')
    expect(migrations.length).toBeGreaterThan(0)
    const rows = await psql(k, `SELECT count(*) FROM usage_hourly WHERE tenant = '${demo.tenant}'`)
    expect(Number(rows[0]?.[0])).toBeGreaterThan(0)
  })

  it('the spend in kubectl get tenants equals what the fake provider reported, priced from the table', async () => {
    await expectSpendAsServed(k)
  })

  it('counts a call made now within seconds', async () => {
    const before = (await dayUsage(k))?.requests ?? 0
    const [result] = await callFromApp(k, {
      provider: 'openai',
      model: 'gpt-4o-mini',
      prompt: `counted ${Date.now()}`,
    })
    expect(result?.status).toBe(200)
    await eventually(
      async () => ((await dayUsage(k))?.requests ?? 0) > before,
      30_000,
      'the call in the tenant status',
      500,
    )
  })
})
