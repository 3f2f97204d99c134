import Anthropic from '@anthropic-ai/sdk'
import { compileTenantConfig, DEFAULT_PRICES, DEFAULT_TIERS } from '@tollgate/api'
import { parseFlags, type Sidecar, startSidecar } from '@tollgate/sidecar'
import { Redis } from 'ioredis'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { type FakeProvider, startFakeProvider } from './fake-provider/fake-provider.ts'
import { type ExchangeFixture, exchangeFixture, type InjectedPod } from './support/exchange-fixture.ts'

// The contract between the webhook, the exchange and the sidecar: start the real sidecar with
// exactly the environment the webhook renders and the projected token kubelet would write, let it
// exchange that token at the operator (the real /exchange, the real TokenReview), and let the
// official SDKs call it with exactly the environment the app container gets. The provider keys
// exist only in the operator's namespace and in the sidecar's memory. Only the fixed ports are
// moved to free ones, since tests share the machine.
const stack = inject('stack')
const REAL_OPENAI = 'sk-real-openai-0a1b2c3d4e5f'
const REAL_ANTHROPIC = 'sk-ant-real-9f8e7d6c5b4a'

let fake: FakeProvider
let fixture: ExchangeFixture
let injected: InjectedPod
let sidecar: Sidecar
let redis: Redis
let appEnv: Record<string, string>

beforeAll(async () => {
  // The fake checks one key; the Anthropic calls are checked through the recorded header.
  fake = await startFakeProvider()
  fixture = await exchangeFixture(stack, {
    redisUrl: stack.redisSidecarUrl,
    secrets: { 'openai-key': { apiKey: REAL_OPENAI }, 'anthropic-key': { token: REAL_ANTHROPIC } },
    spec: (system) => ({
      tier: 'unlimited',
      providers: [
        {
          name: 'openai',
          type: 'openai',
          baseURL: fake.url,
          credentialsSecretRef: { namespace: system, name: 'openai-key', key: 'apiKey' },
        },
        {
          name: 'claude',
          type: 'anthropic',
          baseURL: fake.url,
          credentialsSecretRef: { namespace: system, name: 'anthropic-key', key: 'token' },
        },
      ],
    }),
  })
  injected = await fixture.injectedPod('app')

  // The operator's side: the tenant's Redis user, and its compiled config, signed.
  redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: 1 })
  await fixture.ensureAclUser(redis)
  const { config } = compileTenantConfig({
    tenant: fixture.tenant,
    policies: [],
    tiers: DEFAULT_TIERS,
    prices: DEFAULT_PRICES,
    version: 1,
  })
  await fixture.storeConfig(redis, config)

  const env = {
    ...injected.sidecarEnv,
    TOLLGATE_TOKEN_FILE: injected.tokenFile,
    TOLLGATE_LISTEN: '127.0.0.1:0',
    TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0',
    TOLLGATE_LOG_LEVEL: 'warn',
  }
  const options = parseFlags([], env)
  if (!options) throw new Error('the sidecar refused the injected environment')
  sidecar = await startSidecar(options, {}, { write: () => true })
  await sidecar.config.loaded
  const proxyPort = new URL(sidecar.proxyUrl).port
  appEnv = Object.fromEntries(
    Object.entries(injected.appEnv).map(([k, v]) => [
      k,
      v.replace('127.0.0.1:4141', `127.0.0.1:${proxyPort}`),
    ]),
  )
}, 60_000)

afterAll(async () => {
  await sidecar?.shutdown(500)
  redis?.disconnect()
  await fixture?.close()
  await fake?.close()
})

describe('a sidecar started from what the webhook injects', () => {
  it('is ready on its admin port, as the injected probes ask, once its credentials are exchanged', async () => {
    expect((await fetch(`${sidecar.adminUrl}/healthz`)).status).toBe(200)
    const ready = await fetch(`${sidecar.adminUrl}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({ status: 'ready', credentials: 'ok' })
  })

  it('renders no key into the pod: the environment holds the exchange URL and CA, never a key', () => {
    const all = JSON.stringify({ ...injected.sidecarEnv, ...injected.appEnv, pod: injected.pod })
    expect(all).not.toContain(REAL_OPENAI)
    expect(all).not.toContain(REAL_ANTHROPIC)
    expect(injected.sidecarEnv.TOLLGATE_EXCHANGE_URL).toBe(fixture.trust.exchangeURL)
  })

  it("serves the OpenAI SDK configured only by the app container's environment, with the real key", async () => {
    const client = new OpenAI({
      baseURL: appEnv.OPENAI_BASE_URL,
      apiKey: appEnv.OPENAI_API_KEY,
      maxRetries: 0,
    })
    expect(appEnv.OPENAI_API_KEY).toBe('tollgate-placeholder')
    const answer = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'through the injected sidecar' }],
    })
    expect(answer.choices[0]?.message.content).toBeTruthy()
    expect(fake.requests.at(-1)?.headers.authorization).toBe(`Bearer ${REAL_OPENAI}`)
  })

  it("serves the Anthropic SDK configured only by the app container's environment, with the real key", async () => {
    const client = new Anthropic({
      baseURL: appEnv.ANTHROPIC_BASE_URL,
      apiKey: appEnv.ANTHROPIC_API_KEY,
      maxRetries: 0,
    })
    const answer = await client.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'through the injected sidecar' }],
    })
    expect(answer.content.length).toBeGreaterThan(0)
    expect(fake.requests.at(-1)?.headers['x-api-key']).toBe(REAL_ANTHROPIC)
  })
})
