import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  compileTenantConfig,
  DEFAULT_PRICES,
  DEFAULT_TIERS,
  keys,
  type RedisMode,
  type Tenant,
  type TenantSpec,
  tenantAclUser,
} from '@tollgate/api'
import { parseFlags, type Sidecar, startSidecar } from '@tollgate/sidecar'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { startRedis } from '../../hack/stack/redis.ts'
import type { RedisClient } from '../../operator/src/redis/redis-client.ts'
import { type FakeProvider, startFakeProvider } from '../fake-provider/fake-provider.ts'
import { type ExchangeFixture, exchangeFixture } from '../support/exchange-fixture.ts'
import { nodesOf, stackRedis, usageCounter } from '../support/redis.ts'
import { flushUsage, PLACEHOLDER_KEY, REAL_KEY } from './harness.ts'
import { freshMinute } from './policy.ts'

// Managed mode: credentials by token exchange at the operator (test/support/exchange-fixture.ts
// runs the operator's real webhook server and exchange against the shared API server), the config
// from Redis, signed by the operator's key, under the tenant's own Redis user.
const stack = inject('stack')
let fake: FakeProvider
const running: Sidecar[] = []
const clients: RedisClient[] = []
const fixtures: ExchangeFixture[] = []

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: REAL_KEY })
})
afterAll(async () => {
  for (const sidecar of running) await sidecar.shutdown(500)
  for (const client of clients) client.disconnect()
  for (const f of fixtures) await f.close()
  await fake?.close()
})

function redisClient(url: string, mode = stack.redisMode): RedisClient {
  const client = stackRedis(url, mode)
  clients.push(client)
  return client
}

/** A Redis as the operator (`url`) and as a sidecar (`sidecarUrl`, no credential) reach it. */
interface RedisUrls {
  url: string
  sidecarUrl: string
  mode: RedisMode
}
const shared: RedisUrls = { url: stack.redisUrl, sidecarUrl: stack.redisSidecarUrl, mode: stack.redisMode }

/** tenantOf starts the operator's side for one tenant whose sidecar talks to this Redis. */
async function tenantOf(redis: RedisUrls, exchangeTtlMs?: number): Promise<ExchangeFixture> {
  const f = await exchangeFixture(stack, {
    redisUrl: redis.sidecarUrl,
    redisMode: redis.mode,
    ...(exchangeTtlMs && { exchangeTtlMs }),
    secrets: { 'openai-key': { apiKey: REAL_KEY } },
    spec: (system) => ({
      tier: 'unlimited',
      providers: [
        {
          name: 'openai',
          type: 'openai',
          baseURL: fake.url,
          credentialsSecretRef: { namespace: system, name: 'openai-key', key: 'apiKey' },
        },
      ],
    }),
  })
  fixtures.push(f)
  await f.ensureAclUser(redisClient(redis.url, redis.mode))
  return f
}

/** writeConfig compiles a tenant spec as the operator would, signs and stores it (announcing it when asked). */
async function writeConfig(
  redis: RedisClient,
  f: ExchangeFixture,
  version: number,
  spec: Partial<TenantSpec>,
  announce = true,
  epoch?: number,
) {
  const doc: Tenant = { ...f.tenant, spec: { ...f.tenant.spec, ...spec } }
  const { config } = compileTenantConfig({
    tenant: doc,
    policies: [],
    tiers: DEFAULT_TIERS,
    prices: DEFAULT_PRICES,
    version,
  })
  await f.storeConfig(redis, epoch === undefined ? config : { ...config, epoch }, announce)
}

/** managed starts a sidecar with the environment the webhook injects and the pod's projected token. */
async function managed(
  f: ExchangeFixture,
  opts: { tokenFile?: string; log?: string[]; env?: Record<string, string> } = {},
): Promise<Sidecar> {
  const { sidecarEnv, tokenFile } = await f.injectedPod(`app-${running.length}`)
  const options = parseFlags([], {
    ...sidecarEnv,
    TOLLGATE_TOKEN_FILE: opts.tokenFile ?? tokenFile,
    TOLLGATE_NAMESPACE: 'team-a',
    TOLLGATE_LISTEN: '127.0.0.1:0',
    TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0',
    TOLLGATE_LOG_LEVEL: 'warn',
    ...opts.env,
  })
  if (!options) throw new Error('no options')
  const log = opts.log
  const sidecar = await startSidecar(options, {}, { write: (line: string) => log?.push(line) !== undefined })
  running.push(sidecar)
  return sidecar
}

const readyz = async (sidecar: Sidecar) => {
  const res = await fetch(`${sidecar.adminUrl}/readyz`)
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

const version = async (sidecar: Sidecar) =>
  ((await (await fetch(`${sidecar.adminUrl}/config`)).json()) as { config?: { version: number } }).config
    ?.version

const openai = (sidecar: Sidecar) =>
  new OpenAI({ apiKey: PLACEHOLDER_KEY, baseURL: `${sidecar.proxyUrl}/openai/v1`, maxRetries: 0 })

const ask = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'managed mode' }] }

/** usageTotals sums one counter over every hour the tenant has usage in. */
async function usageTotal(redis: RedisClient, tenant: string, counter: string): Promise<number> {
  let sum = 0
  for (const hour of await redis.smembers(keys.usageHours(tenant))) {
    sum += await usageCounter(redis, keys.usage(tenant, hour), 'openai|gpt-4o-mini|team-a', counter)
  }
  return sum
}

describe('managed mode (config from Redis)', () => {
  it('loads its config, uses the key it exchanged for, and counts usage in Redis', async () => {
    const redis = redisClient(stack.redisUrl)
    const f = await tenantOf(shared)
    const tenant = f.tenant.metadata.name
    await writeConfig(redis, f, 1, {}, false)
    const sidecar = await managed(f)
    await sidecar.config.loaded
    expect((await fetch(`${sidecar.adminUrl}/readyz`)).status).toBe(200)
    const answer = await openai(sidecar).chat.completions.create(ask)
    expect(fake.requests.at(-1)?.headers.authorization).toBe(`Bearer ${REAL_KEY}`)
    await flushUsage(sidecar)
    expect(await usageTotal(redis, tenant, 'requests')).toBe(1)
    expect(await usageTotal(redis, tenant, 'inputTokens')).toBe(answer.usage?.prompt_tokens)
    expect(await usageTotal(redis, tenant, 'outputTokens')).toBe(answer.usage?.completion_tokens)
    expect(await usageTotal(redis, tenant, 'costNano')).toBe(
      (answer.usage?.prompt_tokens ?? 0) * 150 + (answer.usage?.completion_tokens ?? 0) * 600,
    )
  })

  it('is not ready and answers 503 until its tenant has a config', async () => {
    const f = await tenantOf(shared)
    const sidecar = await managed(f)
    expect((await fetch(`${sidecar.adminUrl}/readyz`)).status).toBe(503)
    const res = await fetch(`${sidecar.proxyUrl}/openai/v1/models`)
    expect(res.status).toBe(503)
    expect(res.headers.get('x-tollgate-error-code')).toBe('TOLLGATE_ERR_CONFIG_UNAVAILABLE')
    await writeConfig(redisClient(stack.redisUrl), f, 1, {})
    await vi.waitFor(async () => expect((await fetch(`${sidecar.adminUrl}/readyz`)).status).toBe(200), {
      timeout: 10_000,
    })
  })

  it('reloads on a publish naming its tenant and never goes back to a lower version', async ({
    onTestFailed,
  }) => {
    // One CI run (2026-12-02) timed out here after 30 s and left no trace: a failure now says how
    // far the test got, and what the sidecar logged.
    const started = performance.now()
    const steps: string[] = []
    const step = (name: string) => steps.push(`${name} +${Math.round(performance.now() - started)} ms`)
    const log: string[] = []
    onTestFailed(() => console.error(`steps: ${steps.join(', ')}\nsidecar log:\n${log.join('')}`))
    const redis = redisClient(stack.redisUrl)
    const f = await tenantOf(shared)
    step('tenant')
    await writeConfig(redis, f, 1, {}, false)
    const sidecar = await managed(f, { log, env: { TOLLGATE_LOG_LEVEL: 'info' } })
    step('started')
    await sidecar.config.loaded
    step('loaded')
    await writeConfig(redis, f, 2, { models: { deny: ['gpt-4o-mini'] } })
    await vi.waitFor(async () => expect(await version(sidecar)).toBe(2), { timeout: 10_000 })
    step('version 2')
    await expect(openai(sidecar).chat.completions.create(ask)).rejects.toMatchObject({
      status: 403,
      code: 'TOLLGATE_ERR_MODEL_NOT_ALLOWED',
    })
    step('refused')
    await writeConfig(redis, f, 1, {})
    await vi.waitFor(
      async () => {
        const metrics = await (await fetch(`${sidecar.adminUrl}/metrics`)).text()
        expect(metrics).toMatch(/tollgate_config_loads_total\{result="unchanged"[^}]*\} [1-9]/)
      },
      { timeout: 10_000 },
    )
    expect(await version(sidecar)).toBe(2)
  })

  it('a limit lowered by a policy change applies within a second on two sidecars holding leases: admitted ≤ the new limit + the old lease cap', async () => {
    const redis = redisClient(stack.redisUrl)
    const f = await tenantOf(shared)
    const before = 1_000 // lease cap 20 requests
    const after = 50
    await writeConfig(redis, f, 1, { limits: { requestsPerMinute: before } }, false)
    const sidecars = [await managed(f), await managed(f)]
    await Promise.all(sidecars.map((s) => s.config.loaded))
    await freshMinute(30)
    const sent = fake.requests.length
    let admitted = 0
    const send = (s: Sidecar) =>
      openai(s)
        .chat.completions.create(ask)
        .then(
          () => {
            admitted++
            return 200
          },
          (e) => (e as { status?: number }).status ?? 0,
        )
    // both sidecars lease and admit 40 calls
    const first = await Promise.all(Array.from({ length: 40 }, (_, i) => send(sidecars[i % 2] as Sidecar)))
    expect(first.every((status) => status === 200)).toBe(true)
    await writeConfig(redis, f, 2, { limits: { requestsPerMinute: after } })
    // bounded wait: within a second of the publish both refuse; what they admitted meanwhile counts
    await vi.waitFor(
      async () => {
        const round = await Promise.all(sidecars.map(send))
        expect(round).toEqual([429, 429])
      },
      { timeout: 1_000, interval: 10 },
    )
    const later = await Promise.all(Array.from({ length: 20 }, (_, i) => send(sidecars[i % 2] as Sidecar)))
    expect(later.every((status) => status === 429)).toBe(true)
    expect(fake.requests.length - sent).toBe(admitted)
    expect(admitted).toBeLessThanOrEqual(after + Math.floor(before * 0.02))
    expect(admitted).toBeGreaterThanOrEqual(40)
  }, 60_000)

  it('takes any version of a newer epoch (Redis lost its data), and never again one of an older epoch', async () => {
    const redis = redisClient(stack.redisUrl)
    const f = await tenantOf(shared)
    await writeConfig(redis, f, 5, {}, false, 1_000)
    const sidecar = await managed(f)
    await sidecar.config.loaded
    // The counter started again at 1, in the epoch the operator began when it found the keys gone.
    await writeConfig(redis, f, 1, { models: { deny: ['gpt-4o-mini'] } }, true, 2_000)
    await vi.waitFor(async () => expect(await version(sidecar)).toBe(1), { timeout: 10_000 })
    await expect(openai(sidecar).chat.completions.create(ask)).rejects.toMatchObject({ status: 403 })
    const unchanged = async () =>
      Number(
        /tollgate_config_loads_total\{result="unchanged"[^}]*\} (\d+)/.exec(
          await (await fetch(`${sidecar.adminUrl}/metrics`)).text(),
        )?.[1] ?? 0,
      )
    const before = await unchanged()
    // The old epoch's config replayed, signed but superseded, with a higher version.
    await writeConfig(redis, f, 9, {}, true, 1_000)
    await vi.waitFor(async () => expect(await unchanged()).toBeGreaterThan(before), { timeout: 10_000 })
    expect(await version(sidecar)).toBe(1)
  })

  it('reloads when its subscription reconnects, so a publish it missed is not lost', async () => {
    const redis = redisClient(stack.redisUrl)
    const f = await tenantOf(shared)
    const tenant = f.tenant.metadata.name
    await writeConfig(redis, f, 1, {}, false)
    const sidecar = await managed(f)
    await sidecar.config.loaded
    await writeConfig(redis, f, 3, {}, false)
    // Listing and killing clients is the admin's (the operator's user may not). On a cluster the
    // subscriber is connected to the master of the tenant's slot: every node is looked at.
    const admin = redisClient(stack.redisAdminUrl)
    let killed = 0
    for (const node of await nodesOf(admin)) {
      const id = ((await node.client('LIST')) as string)
        .split('\n')
        // (a cluster's sharded subscriber is `ioredis-cluster(ssubscriber):<name>`)
        .find(
          (line) =>
            / name=(ioredis-cluster\(ssubscriber\):)?tollgate-sidecar-sub:(\S+) /.exec(line)?.[2] === tenant,
        )
        ?.match(/id=(\d+)/)?.[1]
      if (id) killed += Number(await node.client('KILL', 'ID', id))
    }
    expect(killed).toBe(1)
    await vi.waitFor(async () => expect(await version(sidecar)).toBe(3), { timeout: 10_000 })
  })

  it('reads its config again without a publish, so one lost some other way is applied within the resync period', async () => {
    const redis = redisClient(stack.redisUrl)
    const f = await tenantOf(shared)
    await writeConfig(redis, f, 1, {}, false)
    const sidecar = await managed(f, { env: { TOLLGATE_CONFIG_RESYNC: '300ms' } })
    await sidecar.config.loaded
    // Announce the config in force until the sidecar reports reading it unchanged: from then on
    // its subscription is live, and the loads that setting it up makes are behind us.
    await vi.waitFor(
      async () => {
        await writeConfig(redis, f, 1, {}, true)
        expect(await (await fetch(`${sidecar.adminUrl}/metrics`)).text()).toMatch(
          /tollgate_config_loads_total\{result="unchanged"[^}]*\} [1-9]/,
        )
      },
      { timeout: 10_000, interval: 200 },
    )
    // Stored and never announced, as if the publish had been lost on a live subscription.
    await writeConfig(redis, f, 2, { models: { deny: ['gpt-4o-mini'] } }, false)
    await vi.waitFor(async () => expect(await version(sidecar)).toBe(2), { timeout: 5_000 })
    await expect(openai(sidecar).chat.completions.create(ask)).rejects.toMatchObject({ status: 403 })
  })

  it('keeps serving with the last good config while Redis is away and writes the usage once it is back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-redis-'))
    const own = await startRedis({ dir })
    try {
      const redis = redisClient(own.url, 'single')
      const f = await tenantOf({ ...own, mode: 'single' })
      const tenant = f.tenant.metadata.name
      await writeConfig(redis, f, 1, {}, false)
      const sidecar = await managed(f)
      await sidecar.config.loaded
      await own.stop()
      const answer = await openai(sidecar).chat.completions.create(ask)
      expect(answer.choices[0]?.message.content).toBeTruthy()
      expect((await fetch(`${sidecar.adminUrl}/readyz`)).status).toBe(200)
      await own.start()
      // The tenant's user is still there: ensureAclUser saved it to the ACL file (ACL SAVE). A
      // Redis without one loses it, and the operator writes it again when it reconnects.
      await vi.waitFor(async () => expect(await usageTotal(redis, tenant, 'requests')).toBe(1), {
        timeout: 20_000,
        interval: 200,
      })
      expect(await version(sidecar)).toBe(1)
    } finally {
      await own.close()
    }
  })

  /** denyTenant takes commands from the tenant's Redis user on every node, until ensureAclUser. */
  async function denyTenant(f: ExchangeFixture, ...commands: string[]) {
    const user = tenantAclUser(f.tenant.metadata.name)
    for (const node of await nodesOf(redisClient(stack.redisAdminUrl)))
      await node.call('ACL', 'SETUSER', user, ...commands.map((c) => `-${c}`))
  }

  // Two fresh-clone CI runs (2026-12-02) timed out in this file's cluster project waiting for a
  // first config. On a cluster the reads a sidecar makes as it connects can fail ("Connection is
  // closed.", seen here with a denied subscribe; a command timing out under load, too), and
  // nothing read the config again before the resync period (30 s) unless the subscribers reset.
  it('reads its config again soon after a failed read, not at the next resync', async () => {
    const redis = redisClient(stack.redisUrl)
    const f = await tenantOf(shared)
    await writeConfig(redis, f, 1, {}, false)
    await denyTenant(f, 'get') // its reads fail, as it connects and subscribes
    const sidecar = await managed(f)
    await vi.waitFor(
      async () =>
        expect(await (await fetch(`${sidecar.adminUrl}/metrics`)).text()).toMatch(
          /tollgate_config_loads_total\{result="error"[^}]*\} [1-9]/,
        ),
      { timeout: 10_000, interval: 100 },
    )
    await f.ensureAclUser(redisClient(stack.redisUrl)) // its rules again, as the operator writes them
    // the read is tried again at most 5 s after the last, well before the resync (30 s)
    await vi.waitFor(async () => expect(await version(sidecar)).toBe(1), { timeout: 10_000, interval: 100 })
  }, 30_000)

  it('subscribes again soon after a failed subscribe, so publishes apply before the next resync', async () => {
    const redis = redisClient(stack.redisUrl)
    const f = await tenantOf(shared)
    await writeConfig(redis, f, 1, {}, false)
    await denyTenant(f, 'ssubscribe')
    const log: string[] = []
    const sidecar = await managed(f, { log })
    await sidecar.config.loaded
    await vi.waitFor(() => expect(log.join('')).toContain('config subscription failed'), {
      timeout: 10_000,
      interval: 100,
    })
    await f.ensureAclUser(redisClient(stack.redisUrl))
    // publish newer versions until one applies: it has subscribed again, well before the resync
    let next = 2
    await vi.waitFor(
      async () => {
        await writeConfig(redis, f, next++, {})
        expect(await version(sidecar)).toBeGreaterThan(1)
      },
      { timeout: 10_000, interval: 200 },
    )
  }, 30_000)

  it('is not ready before its first exchange, and loads nothing without it', async () => {
    const redis = redisClient(stack.redisUrl)
    const f = await tenantOf(shared)
    await writeConfig(redis, f, 1, {})
    // A token the exchange refuses: it is bound to a pod that has no sidecar.
    const bare = await f.createPod({
      metadata: { name: 'bare' },
      spec: { serviceAccountName: 'app', containers: [{ name: 'app', image: 'example.com/app:1' }] },
    })
    const sidecar = await managed(f, { tokenFile: await f.writeToken(await f.token(bare)) })
    await new Promise((r) => setTimeout(r, 1_500))
    expect(await readyz(sidecar)).toMatchObject({ status: 503, body: { credentials: 'pending' } })
    const res = await fetch(`${sidecar.proxyUrl}/openai/v1/models`)
    expect(res.status).toBe(503)
    expect(sidecar.config.current()).toBeUndefined()
    const metrics = await (await fetch(`${sidecar.adminUrl}/metrics`)).text()
    expect(metrics).toMatch(/tollgate_credential_exchanges_total\{result="failed"[^}]*\} [1-9]/)
  })

  // The attack of issue 11: whoever can write the config key (a client with the operator's Redis
  // password, say) rewrites the tenant's config to send its key and prompts elsewhere.
  it('refuses a config that is not signed by the operator, keeps the last good one, and counts it', async () => {
    const redis = redisClient(stack.redisUrl)
    const f = await tenantOf(shared)
    const tenant = f.tenant.metadata.name
    await writeConfig(redis, f, 1, {})
    const log: string[] = []
    const sidecar = await managed(f, { log })
    await sidecar.config.loaded
    const good = await version(sidecar)
    const { config } = compileTenantConfig({
      tenant: { ...f.tenant, spec: { ...f.tenant.spec, suspended: false } },
      policies: [],
      tiers: DEFAULT_TIERS,
      prices: DEFAULT_PRICES,
      version: 1_000_000,
    })
    const evil = { ...config, providers: [{ ...config.providers[0], baseURL: 'https://attacker.example' }] }
    const { generateOperatorKeys } = await import('../../operator/src/keys/operator-keys.ts')
    const { signConfig, channels } = await import('@tollgate/api')
    for (const forged of [
      JSON.stringify(evil), // a bare config, as the operator wrote them before
      signConfig(evil as typeof config, generateOperatorKeys().signingKey), // signed by someone else's key
      JSON.stringify({
        ...JSON.parse((await redis.get(keys.config(tenant))) as string),
        config: JSON.stringify(evil),
      }),
    ]) {
      await redis.set(keys.config(tenant), forged)
      await redis.spublish(channels.config(tenant), 'forged')
    }
    await vi.waitFor(
      async () => {
        const metrics = await (await fetch(`${sidecar.adminUrl}/metrics`)).text()
        expect(metrics).toMatch(/tollgate_config_loads_total\{result="rejected"[^}]*\} [3-9]/)
      },
      { timeout: 10_000 },
    )
    expect(await version(sidecar)).toBe(good)
    expect(log.join('')).toContain('compiled config refused: not signed by the operator')
    const answer = await openai(sidecar).chat.completions.create(ask)
    expect(answer.choices[0]?.message.content).toBeTruthy()
    expect(fake.requests.at(-1)?.headers.authorization).toBe(`Bearer ${REAL_KEY}`)
  })

  it('sends a key only to the origin the exchange bound it to, even under a signed config naming another', async () => {
    const other = await startFakeProvider()
    try {
      const redis = redisClient(stack.redisUrl)
      const f = await tenantOf(shared)
      const provider = f.tenant.spec.providers[0]
      await writeConfig(redis, f, 1, {
        providers: [{ ...(provider as NonNullable<typeof provider>), baseURL: other.url }],
      })
      const sidecar = await managed(f)
      await sidecar.config.loaded
      await expect(openai(sidecar).chat.completions.create(ask)).rejects.toMatchObject({
        status: 503,
        code: 'TOLLGATE_ERR_CREDENTIAL_MISSING',
      })
      expect(other.requests).toHaveLength(0)
    } finally {
      await other.close()
    }
  })

  it('keeps serving with what it has while the operator is away, and stops at the expiry', async () => {
    const redis = redisClient(stack.redisUrl)
    const f = await tenantOf(shared, 6_000)
    await writeConfig(redis, f, 1, {})
    const sidecar = await managed(f)
    await sidecar.config.loaded
    await f.stopOperator() // the operator is gone; refreshes (every second here) fail
    await new Promise((r) => setTimeout(r, 2_000))
    expect((await readyz(sidecar)).status).toBe(200)
    expect((await openai(sidecar).chat.completions.create(ask)).choices[0]?.message.content).toBeTruthy()
    await vi.waitFor(
      async () =>
        expect(await readyz(sidecar)).toMatchObject({ status: 503, body: { credentials: 'expired' } }),
      {
        timeout: 10_000,
      },
    )
    await expect(openai(sidecar).chat.completions.create(ask)).rejects.toMatchObject({
      status: 503,
      code: 'TOLLGATE_ERR_CREDENTIAL_MISSING',
    })
  })
})
