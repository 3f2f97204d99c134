import type OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { RedisService } from '../../hack/stack/redis.ts'
import { type FakeProvider, startFakeProvider } from '../fake-provider/fake-provider.ts'
import { privateRedis } from '../support/redis.ts'
import { type Harness, REAL_KEY, startHarness } from './harness.ts'
import { metricValue, policyYaml, uniqueTenant } from './policy.ts'

const chat = {
  model: 'gpt-4o-mini',
  messages: [{ role: 'user' as const, content: 'Tell me about toll gates.' }],
}

let fake: FakeProvider
let redis: RedisService
let open: Harness
let closed: Harness

/** sidecar serves a tenant with limits and budgets on the test's own Redis, failing open or closed. */
async function sidecar(failureMode: 'open' | 'closed'): Promise<Harness> {
  const tenant = uniqueTenant(failureMode)
  return startHarness({
    tenant,
    fake,
    spec: [
      'limits: { requestsPerMinute: 100000, tokensPerMinute: 100000000 }',
      'budgets: [{ period: day, limitUSD: "1000" }]',
    ],
    extra: policyYaml('redis-outage', tenant, [`failureMode: ${failureMode}`]),
    flags: ['--redis', redis.url],
  })
}

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: REAL_KEY })
  redis = await privateRedis()
  open = await sidecar('open')
  closed = await sidecar('closed')
})
afterAll(async () => {
  await open?.close()
  await closed?.close()
  await redis?.close()
  await fake?.close()
})

const readyz = async (h: Harness) => {
  const response = await fetch(`${h.sidecar.adminUrl}/readyz`)
  return { status: response.status, body: (await response.json()) as { redis?: string; status: string } }
}

/** Load sends calls one after another until stopped and keeps every outcome. */
class Load {
  readonly outcomes: { status: number; code?: string }[] = []
  #stopped = false
  readonly done: Promise<void>

  constructor(h: Harness) {
    this.done = (async () => {
      while (!this.#stopped) {
        this.outcomes.push(
          await h.openai.chat.completions.create(chat).then(
            () => ({ status: 200 }),
            (e: InstanceType<typeof OpenAI.APIError>) => ({
              status: e.status ?? 0,
              code: e.code ?? undefined,
            }),
          ),
        )
      }
    })()
  }

  /** until waits for `count` more outcomes that satisfy `matches`. */
  until(matches: (o: { status: number; code?: string }) => boolean, count: number): Promise<void> {
    const start = this.outcomes.length
    return vi.waitFor(
      () => expect(this.outcomes.slice(start).filter(matches).length).toBeGreaterThanOrEqual(count),
      { timeout: 20_000, interval: 20 },
    )
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await this.done
  }
}

describe('Redis stopped mid-load', () => {
  it('open mode keeps serving with zero 5xx, closed mode answers 503 at once, both recover by themselves', async () => {
    const loads = [new Load(open), new Load(closed)] as const
    const [openLoad, closedLoad] = loads
    const ok = (o: { status: number }) => o.status === 200
    await Promise.all([openLoad.until(ok, 5), closedLoad.until(ok, 5)])
    expect(await metricValue(open.sidecar.adminUrl, 'tollgate_redis_up')).toBe(1)

    await redis.stop()
    const unavailable = (o: { status: number; code?: string }) =>
      o.status === 503 && o.code === 'TOLLGATE_ERR_LIMITER_UNAVAILABLE'
    await Promise.all([openLoad.until(ok, 20), closedLoad.until(unavailable, 5)])
    expect(await readyz(open)).toMatchObject({ status: 200, body: { redis: 'down' } })
    expect(await readyz(closed)).toMatchObject({ status: 503, body: { redis: 'down' } })
    expect(await metricValue(open.sidecar.adminUrl, 'tollgate_redis_up')).toBe(0)
    expect(
      await metricValue(open.sidecar.adminUrl, 'tollgate_limiter_fallbacks_total', { mode: 'open' }),
    ).toBeGreaterThan(0)

    await redis.start()
    await Promise.all([openLoad.until(ok, 5), closedLoad.until(ok, 5)])
    await Promise.all(loads.map((l) => l.stop()))
    expect(await readyz(closed)).toMatchObject({ status: 200, body: { redis: 'up' } })

    expect(openLoad.outcomes.filter((o) => o.status !== 200)).toEqual([])
    // closed mode only ever answered the call or refused it with the defined 503
    expect(closedLoad.outcomes.filter((o) => !ok(o) && !unavailable(o))).toEqual([])
    expect(closedLoad.outcomes.at(-1)).toEqual({ status: 200 })
  })
})
