import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CONFIG_CHANNEL,
  compileTenantConfig,
  DEFAULT_PRICES,
  DEFAULT_TIERS,
  keys,
  type Tenant,
  type TenantSpec,
} from '@tollgate/api'
import { parseFlags, type Sidecar, startSidecar } from '@tollgate/sidecar'
import { Redis } from 'ioredis'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { startRedis } from '../../hack/stack/redis.ts'
import { type FakeProvider, startFakeProvider } from '../fake-provider/fake-provider.ts'
import { PLACEHOLDER_KEY, REAL_KEY } from './harness.ts'

const stack = inject('stack')
let fake: FakeProvider
let credentials: string
const running: Sidecar[] = []
const clients: Redis[] = []

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: REAL_KEY })
  credentials = await mkdtemp(join(tmpdir(), 'tollgate-credentials-'))
  await writeFile(join(credentials, 'openai'), `${REAL_KEY}\n`)
})
afterAll(async () => {
  for (const sidecar of running) await sidecar.shutdown(500)
  for (const client of clients) client.disconnect()
  await fake?.close()
})

const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 8)}`

function redisClient(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1 })
  client.on('error', () => {})
  clients.push(client)
  return client
}

/** writeConfig compiles a tenant spec as the operator would and stores it (publishing when asked). */
async function writeConfig(
  redis: Redis,
  tenant: string,
  version: number,
  spec: Partial<TenantSpec>,
  publish = true,
) {
  const doc: Tenant = {
    apiVersion: 'tollgate.dev/v1alpha1',
    kind: 'Tenant',
    metadata: { name: tenant },
    spec: { tier: 'unlimited', providers: [{ name: 'openai', type: 'openai', baseURL: fake.url }], ...spec },
  }
  const { config } = compileTenantConfig({
    tenant: doc,
    policies: [],
    tiers: DEFAULT_TIERS,
    prices: DEFAULT_PRICES,
    version,
  })
  await redis.set(keys.config(tenant), JSON.stringify(config))
  if (publish) await redis.publish(CONFIG_CHANNEL, tenant)
}

async function managed(redisUrl: string, tenant: string): Promise<Sidecar> {
  const options = parseFlags(
    ['--redis', redisUrl, '--tenant', tenant, '--credentials-dir', credentials, '--namespace', 'team-a'],
    { TOLLGATE_LISTEN: '127.0.0.1:0', TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0', TOLLGATE_LOG_LEVEL: 'warn' },
  )
  if (!options) throw new Error('no options')
  const sidecar = await startSidecar(options, {}, { write: () => true })
  running.push(sidecar)
  return sidecar
}

const version = async (sidecar: Sidecar) =>
  ((await (await fetch(`${sidecar.adminUrl}/config`)).json()) as { config?: { version: number } }).config
    ?.version

const openai = (sidecar: Sidecar) =>
  new OpenAI({ apiKey: PLACEHOLDER_KEY, baseURL: `${sidecar.proxyUrl}/openai/v1`, maxRetries: 0 })

const ask = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'managed mode' }] }

/** usageTotals sums one counter over every hour the tenant has usage in. */
async function usageTotal(redis: Redis, tenant: string, counter: string): Promise<number> {
  let sum = 0
  for (const hour of await redis.smembers(keys.usageHours(tenant))) {
    sum += Number((await redis.hget(keys.usage(tenant, hour), `openai|gpt-4o-mini|team-a|${counter}`)) ?? 0)
  }
  return sum
}

describe('managed mode (config from Redis)', () => {
  it('loads its config, uses the key from the credentials directory, and counts usage in Redis', async () => {
    const redis = redisClient(stack.redisUrl)
    const tenant = unique('managed')
    await writeConfig(redis, tenant, 1, {}, false)
    const sidecar = await managed(stack.redisUrl, tenant)
    await sidecar.config.loaded
    expect((await fetch(`${sidecar.adminUrl}/readyz`)).status).toBe(200)
    const answer = await openai(sidecar).chat.completions.create(ask)
    expect(fake.requests.at(-1)?.headers.authorization).toBe(`Bearer ${REAL_KEY}`)
    await sidecar.usage.flush()
    expect(await usageTotal(redis, tenant, 'requests')).toBe(1)
    expect(await usageTotal(redis, tenant, 'inputTokens')).toBe(answer.usage?.prompt_tokens)
    expect(await usageTotal(redis, tenant, 'outputTokens')).toBe(answer.usage?.completion_tokens)
    expect(await usageTotal(redis, tenant, 'costNano')).toBe(
      (answer.usage?.prompt_tokens ?? 0) * 150 + (answer.usage?.completion_tokens ?? 0) * 600,
    )
  })

  it('is not ready and answers 503 until its tenant has a config', async () => {
    const tenant = unique('pending')
    const sidecar = await managed(stack.redisUrl, tenant)
    expect((await fetch(`${sidecar.adminUrl}/readyz`)).status).toBe(503)
    const res = await fetch(`${sidecar.proxyUrl}/openai/v1/models`)
    expect(res.status).toBe(503)
    expect(res.headers.get('x-tollgate-error-code')).toBe('TOLLGATE_ERR_CONFIG_UNAVAILABLE')
    await writeConfig(redisClient(stack.redisUrl), tenant, 1, {})
    await vi.waitFor(async () => expect((await fetch(`${sidecar.adminUrl}/readyz`)).status).toBe(200), {
      timeout: 10_000,
    })
  })

  it('reloads on a publish naming its tenant and never goes back to a lower version', async () => {
    const redis = redisClient(stack.redisUrl)
    const tenant = unique('reload')
    await writeConfig(redis, tenant, 1, {}, false)
    const sidecar = await managed(stack.redisUrl, tenant)
    await sidecar.config.loaded
    await writeConfig(redis, tenant, 2, { models: { deny: ['gpt-4o-mini'] } })
    await vi.waitFor(async () => expect(await version(sidecar)).toBe(2), { timeout: 10_000 })
    await expect(openai(sidecar).chat.completions.create(ask)).rejects.toMatchObject({
      status: 403,
      code: 'TOLLGATE_ERR_MODEL_NOT_ALLOWED',
    })
    await writeConfig(redis, tenant, 1, {})
    await vi.waitFor(
      async () => {
        const metrics = await (await fetch(`${sidecar.adminUrl}/metrics`)).text()
        expect(metrics).toMatch(/tollgate_config_loads_total\{result="unchanged"[^}]*\} [1-9]/)
      },
      { timeout: 10_000 },
    )
    expect(await version(sidecar)).toBe(2)
  })

  it('reloads when its subscription reconnects, so a publish it missed is not lost', async () => {
    const redis = redisClient(stack.redisUrl)
    const tenant = unique('lossy')
    await writeConfig(redis, tenant, 1, {}, false)
    const sidecar = await managed(stack.redisUrl, tenant)
    await sidecar.config.loaded
    await writeConfig(redis, tenant, 3, {}, false)
    const list = (await redis.client('LIST')) as string
    const id = list
      .split('\n')
      .find((line) => line.includes(`name=tollgate-sidecar-sub:${tenant} `))
      ?.match(/id=(\d+)/)?.[1]
    expect(id).toBeDefined()
    await redis.client('KILL', 'ID', id as string)
    await vi.waitFor(async () => expect(await version(sidecar)).toBe(3), { timeout: 10_000 })
  })

  it('keeps serving with the last good config while Redis is away and writes the usage once it is back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-redis-'))
    const own = await startRedis({ dir })
    try {
      const redis = redisClient(own.url)
      const tenant = unique('outage')
      await writeConfig(redis, tenant, 1, {}, false)
      const sidecar = await managed(own.url, tenant)
      await sidecar.config.loaded
      await own.stop()
      const answer = await openai(sidecar).chat.completions.create(ask)
      expect(answer.choices[0]?.message.content).toBeTruthy()
      expect((await fetch(`${sidecar.adminUrl}/readyz`)).status).toBe(200)
      await own.start()
      await vi.waitFor(async () => expect(await usageTotal(redis, tenant, 'requests')).toBe(1), {
        timeout: 20_000,
        interval: 200,
      })
      expect(await version(sidecar)).toBe(1)
    } finally {
      await own.close()
    }
  })
})
