import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Anthropic from '@anthropic-ai/sdk'
import type { V1EnvVar, V1Pod } from '@kubernetes/client-node'
import { compileTenantConfig, DEFAULT_PRICES, DEFAULT_TIERS, keys, type Tenant } from '@tollgate/api'
import { parseFlags, type Sidecar, startSidecar } from '@tollgate/sidecar'
import { Redis } from 'ioredis'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { injectPod } from '../operator/src/webhook/inject.ts'
import { DEFAULT_INJECTION_CONFIG } from '../operator/src/webhook/injection-config.ts'
import { type FakeProvider, startFakeProvider } from './fake-provider/fake-provider.ts'

// The contract between the webhook and the sidecar: start the real sidecar with exactly the
// environment and credentials volume the webhook renders (as kubelet would lay them out), and let
// the official SDKs call it with exactly the environment the app container gets. Only the fixed
// ports are moved to free ones, since tests share the machine.
const stack = inject('stack')
const REAL_OPENAI = 'sk-real-openai-0a1b2c3d4e5f'
const REAL_ANTHROPIC = 'sk-ant-real-9f8e7d6c5b4a'
const tenantName = `injected-${Math.random().toString(36).slice(2, 8)}`

let fake: FakeProvider
let sidecar: Sidecar
let redis: Redis
let appEnv: Record<string, string>

const envMap = (env: V1EnvVar[] = []) => Object.fromEntries(env.map((e) => [e.name, e.value ?? '']))

beforeAll(async () => {
  // The fake checks one key; the Anthropic calls are checked through the recorded header.
  fake = await startFakeProvider()
  const tenant: Tenant = {
    apiVersion: 'tollgate.dev/v1alpha1',
    kind: 'Tenant',
    metadata: { name: tenantName },
    spec: {
      tier: 'unlimited',
      namespaces: ['shop'],
      providers: [
        {
          name: 'openai',
          type: 'openai',
          baseURL: fake.url,
          credentialsSecretRef: { namespace: 'tollgate-system', name: 'openai-key', key: 'apiKey' },
        },
        {
          name: 'claude',
          type: 'anthropic',
          baseURL: fake.url,
          credentialsSecretRef: { namespace: 'tollgate-system', name: 'anthropic-key', key: 'token' },
        },
      ],
    },
    status: {
      conditions: [{ type: 'Ready', status: 'True', reason: 'Synced', message: '', lastTransitionTime: '' }],
    },
  }
  const pod: V1Pod = { metadata: { name: 'app' }, spec: { containers: [{ name: 'app', image: 'app' }] } }
  const { pod: injected } = injectPod({
    pod,
    namespace: { name: 'shop', labels: { 'tollgate.dev/inject': 'enabled' } },
    tenants: [tenant],
    config: { ...DEFAULT_INJECTION_CONFIG, redis: { url: stack.redisUrl } },
  })
  const [container] = injected.spec?.initContainers ?? []
  if (!container) throw new Error('no sidecar injected')

  // The operator's side: the compiled config in Redis, the mirrored Secrets (key: provider name).
  redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: 1 })
  const { config } = compileTenantConfig({
    tenant,
    policies: [],
    tiers: DEFAULT_TIERS,
    prices: DEFAULT_PRICES,
    version: 1,
  })
  await redis.set(keys.config(tenantName), JSON.stringify(config))
  const mirrored: Record<string, Record<string, string>> = {
    [`tollgate-${tenantName}-openai`]: { openai: REAL_OPENAI },
    [`tollgate-${tenantName}-claude`]: { claude: REAL_ANTHROPIC },
  }
  // Kubelet's side: the projected volume, file by file, at a temporary mount path.
  const mount = await mkdtemp(join(tmpdir(), 'tollgate-projected-'))
  const volume = injected.spec?.volumes?.find((v) => v.name === container.volumeMounts?.[0]?.name)
  for (const source of volume?.projected?.sources ?? []) {
    for (const item of source.secret?.items ?? []) {
      const value = mirrored[source.secret?.name ?? '']?.[item.key]
      if (value === undefined)
        throw new Error(`mirrored Secret ${source.secret?.name} has no key ${item.key}`)
      await writeFile(join(mount, item.path), value)
    }
  }

  const env = {
    ...envMap(container.env),
    TOLLGATE_CREDENTIALS_DIR: mount,
    TOLLGATE_LISTEN: '127.0.0.1:0',
    TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0',
    TOLLGATE_LOG_LEVEL: 'warn',
  }
  const options = parseFlags(container.args ?? [], env)
  if (!options) throw new Error('the sidecar refused the injected environment')
  sidecar = await startSidecar(options, {}, { write: () => true })
  await sidecar.config.loaded
  const proxyPort = new URL(sidecar.proxyUrl).port
  appEnv = Object.fromEntries(
    Object.entries(envMap(injected.spec?.containers[0]?.env)).map(([k, v]) => [
      k,
      v.replace('127.0.0.1:4141', `127.0.0.1:${proxyPort}`),
    ]),
  )
})

afterAll(async () => {
  await sidecar?.shutdown(500)
  redis?.disconnect()
  await fake?.close()
})

describe('a sidecar started from what the webhook injects', () => {
  it('is ready on its admin port, as the injected probes ask', async () => {
    expect((await fetch(`${sidecar.adminUrl}/healthz`)).status).toBe(200)
    expect((await fetch(`${sidecar.adminUrl}/readyz`)).status).toBe(200)
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
