import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeProvider, startFakeProvider } from '../fake-provider/fake-provider.ts'
import { type Harness, REAL_KEY, startHarness } from './harness.ts'
import { metricValue, policyYaml, uniqueTenant } from './policy.ts'

const chat = { messages: [{ role: 'user' as const, content: 'Tell me about toll gates.' }] }

let fake: FakeProvider
const harnesses: Harness[] = []

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: REAL_KEY })
})
afterAll(async () => {
  for (const h of harnesses) await h.close()
  await fake?.close()
})

async function harness(spec: string[]): Promise<Harness> {
  const tenant = uniqueTenant()
  const h = await startHarness({ tenant, fake, extra: policyYaml('resilience', tenant, spec) })
  harnesses.push(h)
  return h
}

/** scenario tags a test's calls so the fake's records and fail counters are the test's own. */
const scenario = () => {
  const id = randomUUID()
  return { id, seen: () => fake.requests.filter((r) => r.headers['x-fake-scenario'] === id).length }
}

const apiError = (e: unknown) => e as InstanceType<typeof OpenAI.APIError>

describe('retries', () => {
  const policy = [
    'retry: { attempts: 2, backoff: { base: 10ms, max: 200ms }, retryOn: ["5xx", "429", "connect"] }',
  ]

  it('tries a failing call again and answers with the first success', async () => {
    const h = await harness(policy)
    const s = scenario()
    const headers = {
      'x-fake-scenario': s.id,
      'x-fake-fail': '503',
      'x-fake-fail-times': '2',
      'x-fake-retry-after': '0.01',
    }
    const answer = await h.openai.chat.completions.create({ model: 'gpt-4o-mini', ...chat }, { headers })
    expect(answer.choices[0]?.message.content).toBeTruthy()
    expect(s.seen()).toBe(3)
    expect(await metricValue(h.sidecar.adminUrl, 'tollgate_retries_total', { reason: '5xx' })).toBe(2)
  })

  it('stops after the policy’s attempts and passes the provider’s answer on', async () => {
    const h = await harness(policy)
    const s = scenario()
    const headers = { 'x-fake-scenario': s.id, 'x-fake-fail': '500' }
    const error = apiError(
      await h.openai.chat.completions.create({ model: 'gpt-4o-mini', ...chat }, { headers }).catch((e) => e),
    )
    expect(error.status).toBe(500)
    expect(s.seen()).toBe(3)
  })

  it('does not wait longer than the backoff allows: a long Retry-After goes to the client', async () => {
    const h = await harness(policy)
    const s = scenario()
    const headers = { 'x-fake-scenario': s.id, 'x-fake-fail': '429', 'x-fake-retry-after': '30' }
    const error = apiError(
      await h.openai.chat.completions.create({ model: 'gpt-4o-mini', ...chat }, { headers }).catch((e) => e),
    )
    expect(error.status).toBe(429)
    expect(error.headers?.get('retry-after')).toBe('30')
    expect(s.seen()).toBe(1)
  })

  it('never retries once a byte of the answer went to the client', async () => {
    const h = await harness(policy)
    const s = scenario()
    const stream = await h.openai.chat.completions.create(
      { model: 'gpt-4o-mini', stream: true, ...chat },
      { headers: { 'x-fake-scenario': s.id, 'x-fake-cut-after': '2' } },
    )
    const failure = await (async () => {
      for await (const _ of stream) {
        // read until the cut
      }
    })().catch((e: unknown) => e)
    expect(failure).toBeInstanceOf(Error)
    expect(s.seen()).toBe(1)
  })
})

describe('circuit breaker', () => {
  it('opens after the configured failures: the provider sees no more than the threshold plus the probes', async () => {
    const h = await harness([
      'circuitBreaker: { consecutiveFailures: 3, openFor: 1s, halfOpenProbes: 1, tripOn: ["5xx"] }',
      'retry: { attempts: 0 }',
    ])
    const s = scenario()
    const failing = { headers: { 'x-fake-scenario': s.id, 'x-fake-fail': '500' } }
    const statuses: (number | undefined)[] = []
    const codes: unknown[] = []
    for (let i = 0; i < 10; i++) {
      const error = apiError(
        await h.openai.chat.completions.create({ model: 'gpt-4o-mini', ...chat }, failing).catch((e) => e),
      )
      statuses.push(error.status)
      codes.push(error.code)
      if (i === 9) expect(Number(error.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1)
    }
    expect(statuses).toEqual([500, 500, 500, 503, 503, 503, 503, 503, 503, 503])
    expect(codes.slice(3).every((c) => c === 'TOLLGATE_ERR_CIRCUIT_OPEN')).toBe(true)
    expect(s.seen()).toBe(3)
    const state = { provider: 'openai', model: 'gpt-4o-mini' }
    expect(await metricValue(h.sidecar.adminUrl, 'tollgate_circuit_breaker_state', state)).toBe(2)

    await sleep(1_100) // openFor
    // Idle, it tells the truth when scraped: half-open now, though no call came to change it.
    expect(await metricValue(h.sidecar.adminUrl, 'tollgate_circuit_breaker_state', state)).toBe(1)
    // one probe goes through; it fails, and the breaker opens again at once
    const probe = apiError(
      await h.openai.chat.completions.create({ model: 'gpt-4o-mini', ...chat }, failing).catch((e) => e),
    )
    expect(probe.status).toBe(500)
    const refused = apiError(
      await h.openai.chat.completions.create({ model: 'gpt-4o-mini', ...chat }).catch((e) => e),
    )
    expect(refused.code).toBe('TOLLGATE_ERR_CIRCUIT_OPEN')
    expect(s.seen()).toBe(4)

    await sleep(1_100)
    // a healthy probe closes it
    await h.openai.chat.completions.create({ model: 'gpt-4o-mini', ...chat })
    await h.openai.chat.completions.create({ model: 'gpt-4o-mini', ...chat })
    expect(await metricValue(h.sidecar.adminUrl, 'tollgate_circuit_breaker_state', state)).toBe(0)
    // another model of the same provider never had a breaker of its own open
    await h.openai.chat.completions.create({ model: 'gpt-4.1-mini', ...chat })
  })
})
