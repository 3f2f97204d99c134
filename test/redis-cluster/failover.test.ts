import { setTimeout as sleep } from 'node:timers/promises'
import { keys } from '@tollgate/api'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RedisClusterService } from '../../hack/stack/redis-cluster.ts'
import { leaseCap } from '../../sidecar/src/limits/lease.ts'
import { DEFAULT_LEASE_FRACTION } from '../../sidecar/src/limits/lease-limiter.ts'
import { type FakeProvider, startFakeProvider } from '../fake-provider/fake-provider.ts'
import { type Harness, REAL_KEY, startHarness } from '../sidecar/harness.ts'
import { freshMinute, metricValue, uniqueTenant } from '../sidecar/policy.ts'
import { eventually } from '../support/eventually.ts'
import { privateRedisCluster } from '../support/redis.ts'

// A master of a Redis Cluster dies (SIGKILL) under load, and its replica takes over. Two tenants
// whose slots that master served: `rate` has a requests-per-minute limit (rate limits fail open),
// `budget` a day budget (budgets fail closed). Two standalone sidecars each, on a cluster of this
// file's own. docs/limits.md ("Redis Cluster failover") states the bound this test checks.
const LIMIT = 100
/** Calls in flight at once per tenant: two sidecars, two callers each. */
const IN_FLIGHT = 4
const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'failover' }] }

interface Outcome {
  /** Which sidecar answered (its index in the list given to load). */
  sidecar: number
  started: number
  ended: number
  status: number
  code: string | undefined
}

let cluster: RedisClusterService
let fake: FakeProvider
const harnesses: Harness[] = []

beforeAll(async () => {
  ;[cluster, fake] = await Promise.all([privateRedisCluster(), startFakeProvider({ apiKey: REAL_KEY })])
})
afterAll(async () => {
  for (const h of harnesses) await h.close()
  await fake?.close()
  await cluster?.close()
})

/** sameMaster picks a tenant name whose slot the given master serves. */
async function tenantOn(master: number, prefix: string): Promise<string> {
  for (let i = 0; i < 500; i++) {
    const name = uniqueTenant(prefix)
    if ((await cluster.owner(keys.config(name), cluster.port))?.master === master) return name
  }
  throw new Error(`no tenant name on master ${master} in 500 tries`)
}

/** load keeps IN_FLIGHT / sidecars callers per sidecar calling until stopped, recording every answer. */
function load(sidecars: Harness[], outcomes: Outcome[]) {
  let stopped = false
  const caller = async (h: Harness, sidecar: number) => {
    const client = new OpenAI({ apiKey: 'sk-app', baseURL: `${h.sidecar.proxyUrl}/openai/v1`, maxRetries: 0 })
    while (!stopped) {
      const started = Date.now()
      const outcome = await client.chat.completions.create(chat).then(
        () => ({ sidecar, started, ended: Date.now(), status: 200, code: undefined }),
        (e: InstanceType<typeof OpenAI.APIError>) => ({
          sidecar,
          started,
          ended: Date.now(),
          status: e.status ?? 0,
          code: e.code ?? undefined,
        }),
      )
      outcomes.push(outcome)
      // Pacing, not waiting: a refused call returns at once, and the machine is shared.
      await sleep(20)
    }
  }
  const callers = sidecars.flatMap((h, i) =>
    Array.from({ length: IN_FLIGHT / sidecars.length }, () => caller(h, i)),
  )
  return async () => {
    stopped = true
    await Promise.all(callers)
  }
}

describe('Redis Cluster failover under load', () => {
  it('a killed master: once its replica serves, the shared limit admits at most the calls in flight ' +
    'and the leases out at the kill past it, rate limits never answer 5xx (fail open), and budget calls ' +
    'answer 503 from the first failed call to Redis until the first call after it succeeds (fail closed)', {
    timeout: 120_000,
  }, async (context) => {
    const probe = uniqueTenant('failover-probe')
    const victim = await cluster.owner(keys.config(probe), cluster.port)
    if (!victim) throw new Error('no master for the probe key')
    const [rate, budget] = [await tenantOn(victim.master, 'rate'), await tenantOn(victim.master, 'budget')]
    const sidecar = (tenant: string, spec: string[]) =>
      startHarness({
        tenant,
        spec,
        fake,
        flags: ['--redis', cluster.url, '--log-level', 'warn'],
        redisMode: 'cluster',
      }).then((h) => {
        harnesses.push(h)
        return h
      })
    const rateSpec = [`limits: { requestsPerMinute: ${LIMIT} }`]
    const budgetSpec = ['budgets: [{ period: day, limitUSD: "1000", timezone: UTC }]']
    const rates = [await sidecar(rate, rateSpec), await sidecar(rate, rateSpec)]
    const budgets = [await sidecar(budget, budgetSpec), await sidecar(budget, budgetSpec)]
    // The limit's window is the calendar minute: the test must run within one.
    await freshMinute(30)

    const rateOutcomes: Outcome[] = []
    const budgetOutcomes: Outcome[] = []
    const stopRate = load(rates, rateOutcomes)
    const stopBudget = load(budgets, budgetOutcomes)
    const ok = (outcomes: Outcome[], after = 0) =>
      outcomes.filter((o) => o.status === 200 && o.started >= after).length
    await eventually(
      () => ok(rateOutcomes) >= 20 && ok(budgetOutcomes) >= 20,
      20_000,
      'calls before the kill',
    )

    const killing = Date.now()
    await cluster.nodes.find((n) => n.port === victim.master)?.kill()
    // From here on no call can be served by the old master: its process has exited.
    const killedAt = Date.now()
    const survivor = victim.replicas[0] as number
    await eventually(
      async () => victim.replicas.includes((await cluster.owner(keys.config(rate), survivor))?.master ?? 0),
      30_000,
      'the replica to take over',
    )
    const tookOverAt = Date.now()
    // Until the limit is used up: the last calls of `rate` are refused, and `budget` serves again.
    await eventually(
      () =>
        rateOutcomes.length > 10 &&
        rateOutcomes.slice(-10).every((o) => o.status === 429) &&
        ok(budgetOutcomes, tookOverAt) >= 20,
      30_000,
      'the limit used up and budget calls served again',
    )
    await Promise.all([stopRate(), stopBudget()])
    const elapsedS = (Date.now() - killedAt) / 1000

    // Rate limits fail open: never a 5xx, only answers and 429s that name the quota.
    const rateFailures = rateOutcomes.filter((o) => o.status !== 200)
    expect(rateFailures.filter((o) => o.status !== 429)).toEqual([])
    expect(new Set(rateFailures.map((o) => o.code))).toEqual(new Set(['TOLLGATE_ERR_QUOTA_EXCEEDED']))
    // The shared limit: calls admitted by Redis or its leases (all admitted minus those decided
    // locally while the slot had no master) exceed it at most by the reservations in flight at
    // the kill and the leases out, which the old master may have acknowledged without passing
    // them to its replica.
    let fallbacks = 0
    for (const h of rates)
      fallbacks += await metricValue(h.sidecar.adminUrl, 'tollgate_limiter_fallbacks_total', { mode: 'open' })
    const admitted = ok(rateOutcomes)
    const byRedis = admitted - fallbacks
    expect(byRedis).toBeLessThanOrEqual(LIMIT + IN_FLIGHT + leaseCap(LIMIT, DEFAULT_LEASE_FRACTION))
    expect(admitted).toBeGreaterThanOrEqual(LIMIT - IN_FLIGHT) // the limit was reached, not the end of the test

    // Budgets fail closed: 503 LIMITER_UNAVAILABLE while the slot had no master, and nothing
    // else. At each sidecar none ended before the kill began, and once one had (its leases are
    // no longer used: Redis failed), none started after the first call that then succeeded.
    const budgetFailures = budgetOutcomes.filter((o) => o.status !== 200)
    expect(
      budgetFailures.filter((o) => o.status !== 503 || o.code !== 'TOLLGATE_ERR_LIMITER_UNAVAILABLE'),
    ).toEqual([])
    const recovered = budgets.map((_, i) => {
      const down = Math.min(...budgetFailures.filter((o) => o.sidecar === i).map((o) => o.ended))
      return Math.min(
        ...budgetOutcomes
          .filter((o) => o.sidecar === i && o.status === 200 && o.started > down)
          .map((o) => o.started),
      )
    })
    expect(
      budgetFailures.filter((o) => o.ended < killing || o.started > (recovered[o.sidecar] as number)),
    ).toEqual([])
    const recoveredAt = Math.max(...recovered)
    expect(recoveredAt).toBeLessThan(Number.POSITIVE_INFINITY) // each sidecar was refused, then served

    context.annotate(
      `rate: ${admitted} admitted (${fallbacks} decided locally) against ${LIMIT}, ${byRedis - LIMIT} past it by Redis; ` +
        `budget: ${budgetFailures.length} answered 503; replica serving ${((tookOverAt - killedAt) / 1000).toFixed(1)} s after the kill, ` +
        `budget calls served again ${((recoveredAt - killedAt) / 1000).toFixed(1)} s after the kill; ${elapsedS.toFixed(1)} s in all`,
    )
  })
})
