import type OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RedisService } from '../../hack/stack/redis.ts'
import { type FakeProvider, startFakeProvider } from '../fake-provider/fake-provider.ts'
import { privateRedis } from '../support/redis.ts'
import { type Harness, REAL_KEY, startHarness } from './harness.ts'
import { uniqueTenant } from './policy.ts'

// Without a policy's failureMode, budgets fail closed and rate limits fail open while Redis is
// unreachable: a replica cannot know what the others spent, but it can count requests itself.

const chat = {
  model: 'gpt-4o-mini',
  messages: [{ role: 'user' as const, content: 'Tell me about toll gates.' }],
}

let fake: FakeProvider
let redis: RedisService
let budgeted: Harness
let limited: Harness
beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: REAL_KEY })
  redis = await privateRedis()
  const flags = ['--redis', redis.url]
  budgeted = await startHarness({
    tenant: uniqueTenant('budget'),
    fake,
    flags,
    spec: ['budgets: [{ period: day, limitUSD: "10" }]'],
  })
  limited = await startHarness({
    tenant: uniqueTenant('rpm'),
    fake,
    flags,
    spec: ['limits: { requestsPerMinute: 1000 }'],
  })
})
afterAll(async () => {
  await budgeted?.close()
  await limited?.close()
  await redis?.close()
  await fake?.close()
})

const status = (h: Harness) =>
  h.openai.chat.completions.create(chat).then(
    () => ({ status: 200 }),
    (e: InstanceType<typeof OpenAI.APIError>) => ({ status: e.status, code: e.code }),
  )

describe('default failure modes while Redis is down', () => {
  it('a budgeted tenant answers 503, a rate-limited one keeps serving, both recover', async () => {
    expect([await status(budgeted), await status(limited)]).toEqual([{ status: 200 }, { status: 200 }])
    await redis.stop()
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await status(budgeted)).toEqual({ status: 503, code: 'TOLLGATE_ERR_LIMITER_UNAVAILABLE' })
    expect(await status(limited)).toEqual({ status: 200 })
    await redis.start()
    await new Promise((resolve) => setTimeout(resolve, 2_500))
    expect([await status(budgeted), await status(limited)]).toEqual([{ status: 200 }, { status: 200 }])
  })
})
