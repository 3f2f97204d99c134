import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { stringify } from 'yaml'
import type { RedisService } from '../hack/stack/redis.ts'
import { startTestOperator, tenantDoc, uniqueName } from './operator/support.ts'
import { flushUsage, type Harness, startHarness } from './sidecar/harness.ts'
import { eventually } from './support/eventually.ts'
import { kubectlOK } from './support/kubectl.ts'
import { createDatabase } from './support/postgres.ts'
import { privateRedis } from './support/redis.ts'

// Found by `npm run soak`: Redis restarting without persistence (or failing over to an empty
// replica) took the usage of the hour with it. The counters started again from zero and the
// operator's next flush wrote those smaller totals over the ledger's, and what a sidecar had
// written since the last flush was gone with Redis.

const stack = inject('stack')
const run = uniqueName('usageloss')
const label = { 'tollgate.dev/test': run }
const tenant = uniqueName('loss')

let redis: RedisService
let sidecar: Harness
let databaseUrl: string
let operator: Awaited<ReturnType<typeof startTestOperator>> | undefined

const startOperator = () =>
  startTestOperator({
    kubeconfig: stack.kubeconfig,
    redisUrl: redis.url,
    databaseUrl,
    selector: `tollgate.dev/test=${run}`,
    leaseName: run,
  })

beforeAll(async () => {
  redis = await privateRedis()
  databaseUrl = await createDatabase(stack.databaseUrl, 'usageloss')
  // A standalone sidecar counting into the test's own Redis; the operator flushes the tenant of
  // the same name into the ledger.
  sidecar = await startHarness({ tenant, flags: ['--redis', redis.url] })
  await kubectlOK(stack, ['apply', '-f', '-'], stringify(tenantDoc(tenant, label)))
  operator = await startOperator()
})

afterAll(async () => {
  await operator?.stop()
  await sidecar?.close()
  await redis?.close()
})

const ledgerRequests = async (): Promise<number> => {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const { rows } = await client.query(
      'SELECT coalesce(sum(requests), 0)::int AS n FROM usage_hourly WHERE tenant = $1',
      [tenant],
    )
    return rows[0].n
  } finally {
    await client.end()
  }
}

const calls = async (n: number) => {
  for (let i = 0; i < n; i++)
    await sidecar.openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `call ${i} ${Math.random()}` }],
    })
}

describe('usage when Redis loses its data', () => {
  it('keeps every call in the ledger: those flushed before, those only in Redis, and those after', async () => {
    await calls(3)
    await eventually(async () => (await ledgerRequests()) === 3, 20_000, 'the first calls in the ledger')

    // Calls that reach Redis but not yet the ledger: no operator flushes them.
    await operator?.stop()
    operator = undefined
    await calls(4)
    await flushUsage(sidecar.sidecar)

    // A restart without persistence: every key gone.
    await redis.kill()
    await redis.start()
    await eventually(
      async () =>
        (await fetch(`${sidecar.sidecar.adminUrl}/metrics`).then((r) => r.text())).match(
          /^tollgate_redis_up\S* 1$/m,
        ),
      20_000,
      'the sidecar back on Redis',
    )
    await calls(5)
    await flushUsage(sidecar.sidecar)
    operator = await startOperator()

    await vi.waitFor(async () => expect(await ledgerRequests()).toBe(12), { timeout: 20_000, interval: 200 })
  })
})
