import { randomBytes } from 'node:crypto'
import { channels, keys, OPERATOR_ACL_USER, tenantAclUser } from '@tollgate/api'
import { parseFlags, type Sidecar, startSidecar } from '@tollgate/sidecar'
import { Redis } from 'ioredis'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { RedisPasswords } from '../operator/src/redis/redis-passwords.ts'
import { TenantAclUsers } from '../operator/src/redis/tenant-acl-users.ts'
import { type FakeProvider, startFakeProvider } from './fake-provider/fake-provider.ts'
import { flushUsage, PLACEHOLDER_KEY, REAL_KEY } from './sidecar/harness.ts'
import { exchangeFixture } from './support/exchange-fixture.ts'
import { redisUrlAs } from './support/redis.ts'

// Redis answers only to whom it must. The stack's Redis runs as the chart will run it (default user
// off, the operator's own user, hack/stack/redis.ts); the tenant users are the ones the operator's
// TenantAclUsers creates. The attacks of issue 11: a client without a credential, and one with
// another tenant's, reading, rewriting or hearing what is not theirs. The last test runs the real
// sidecar under its tenant's user, so every command it sends (Lua scripts included) is one the
// rules allow. Tenant names are this file's own, since the Redis is shared.
const stack = inject('stack')
const HOUR = 3_600_000
const id = randomBytes(3).toString('hex')
const [ACME, GLOBEX, GONE, INITECH] = ['acme', 'globex', 'gone', 'initech'].map((t) => `${t}-${id}`) as [
  string,
  string,
  string,
  string,
]
let operator: Redis
let passwords: RedisPasswords
let users: TenantAclUsers
const opened: Redis[] = []
const at = new Date('2026-12-01T10:30:00Z')

const client = (url: string) => {
  const c = new Redis(url, { maxRetriesPerRequest: 0, enableReadyCheck: false, retryStrategy: () => null })
  c.on('error', () => {})
  opened.push(c)
  return c
}
const as = (tenant: string, when = at) =>
  client(redisUrlAs(stack.redisSidecarUrl, tenantAclUser(tenant), passwords.current(tenant, when)))

beforeAll(async () => {
  operator = client(stack.redisUrl)
  passwords = new RedisPasswords(Buffer.alloc(32, 3), HOUR)
  users = new TenantAclUsers(() => [operator], passwords)
  await users.ensure(ACME, at)
  await users.ensure(GLOBEX, at)
  await operator.set(keys.config(ACME), 'acme config')
  await operator.set(keys.config(GLOBEX), 'globex config')
  await operator.set(keys.cache(GLOBEX, 1, 'digest'), 'a cached answer of globex')
})

afterAll(async () => {
  for (const tenant of [ACME, GLOBEX]) await users?.remove(tenant)
  for (const c of opened) c.disconnect()
})

describe('Redis with the ACLs the operator creates', () => {
  it('refuses a client without a credential', async () => {
    await expect(client(stack.redisSidecarUrl).get(keys.config(ACME))).rejects.toThrow(/NOAUTH/)
    await expect(client(stack.redisSidecarUrl).ping()).rejects.toThrow(/NOAUTH/)
  })

  it('has its default user off, so no password (none, or a guess) logs in as it', async () => {
    for (const password of ['', 'nopass', 'guess'])
      await expect(client(redisUrlAs(stack.redisSidecarUrl, 'default', password)).ping()).rejects.toThrow(
        /WRONGPASS|NOAUTH/,
      )
    const admin = client(stack.redisAdminUrl)
    const flags = (user: string) => admin.call('ACL', 'GETUSER', user).then((u) => (u as unknown[])[1])
    expect(await flags('default')).toContain('off')
    expect(await flags('default')).not.toContain('nopass')
    expect(await flags(OPERATOR_ACL_USER)).toContain('on')
  })

  it('refuses a wrong password and a password of another tenant', async () => {
    await expect(
      client(redisUrlAs(stack.redisSidecarUrl, tenantAclUser(ACME), 'guess')).ping(),
    ).rejects.toThrow(/WRONGPASS/)
    const stolen = passwords.current(GLOBEX, at)
    await expect(
      client(redisUrlAs(stack.redisSidecarUrl, tenantAclUser(ACME), stolen)).ping(),
    ).rejects.toThrow(/WRONGPASS/)
  })

  it("lets a tenant read its config but not rewrite it, and not touch the operator's bookkeeping", async () => {
    const acme = as(ACME)
    expect(await acme.get(keys.config(ACME))).toBe('acme config')
    await expect(acme.set(keys.config(ACME), 'forged')).rejects.toThrow(/NOPERM/)
    await expect(
      acme.eval("return redis.call('SET', KEYS[1], 'forged')", 1, keys.config(ACME)),
    ).rejects.toThrow(/NOPERM/)
    await expect(acme.set(keys.configVersion(ACME), '999999')).rejects.toThrow(/NOPERM/)
    await expect(acme.get(keys.cachePurge(ACME))).rejects.toThrow(/NOPERM/)
    expect(await operator.get(keys.config(ACME))).toBe('acme config')
  })

  it("keeps a tenant out of another tenant's keys, cache and channel", async () => {
    const acme = as(ACME)
    await expect(acme.get(keys.config(GLOBEX))).rejects.toThrow(/NOPERM/)
    await expect(acme.get(keys.cache(GLOBEX, 1, 'digest'))).rejects.toThrow(/NOPERM/)
    await expect(acme.set(keys.cache(GLOBEX, 1, 'digest'), 'a planted answer')).rejects.toThrow(/NOPERM/)
    await expect(acme.hset(keys.usage(GLOBEX, '2026-12-01T10'), 'x', 0)).rejects.toThrow(/NOPERM/)
    await expect(acme.ssubscribe(channels.config(GLOBEX))).rejects.toThrow(/NOPERM/)
    expect(await operator.get(keys.cache(GLOBEX, 1, 'digest'))).toBe('a cached answer of globex')
  })

  it('refuses the commands that would list keys, announce configs or administer Redis', async () => {
    const acme = as(ACME)
    for (const command of [
      ['SCAN', '0'],
      ['KEYS', '*'],
      ['RANDOMKEY'],
      ['PUBLISH', channels.config(ACME), '1'],
      ['SPUBLISH', channels.config(ACME), '1'],
      ['FLUSHALL'],
      ['CONFIG', 'GET', '*'],
      ['ACL', 'LIST'],
      ['CLIENT', 'LIST'],
      ['MONITOR'],
    ])
      await expect(acme.call(command[0] as string, ...command.slice(1)), command.join(' ')).rejects.toThrow(
        /NOPERM/,
      )
  })

  it('lets a tenant work its own counters, cache and channel', async () => {
    const acme = as(ACME)
    await acme.set(keys.cache(ACME, 1, 'd'), 'answer', 'PX', 60_000)
    expect(await acme.get(keys.cache(ACME, 1, 'd'))).toBe('answer')
    expect(await acme.hset(keys.usage(ACME, '2026-12-01T10'), 'openai|m|ns|requests|i1', 1)).toBe(1)
    expect(await acme.sadd(keys.usageHours(ACME), '2026-12-01T10')).toBe(1)
    // what lease.lua does to count the slots and leases of a concurrency limit
    const slots = keys.slots(ACME, 'tenant')
    expect(await acme.eval("return redis.call('HGETALL', KEYS[1])", 1, slots)).toEqual([])
    const sub = as(ACME)
    expect(await sub.ssubscribe(channels.config(ACME))).toBe(1)
  })

  it('rotates passwords by epoch: open connections stay, the next password works, an old one stops', async () => {
    const before = as(ACME)
    expect(await before.ping()).toBe('PONG')
    const later = new Date(at.getTime() + 2 * HOUR)
    expect((await users.ensure(ACME, later)).written).toBe(true)
    expect(await before.ping()).toBe('PONG')
    expect(await as(ACME, later).ping()).toBe('PONG')
    // Handed out at `at`, accepted until two epochs later begin.
    await expect(as(ACME, at).ping()).rejects.toThrow(/WRONGPASS/)
    expect((await users.ensure(ACME, later)).written).toBe(false)
    await users.ensure(ACME, at)
  })

  it('closes the connections of a deleted tenant', async () => {
    await users.ensure(GONE, at)
    const gone = as(GONE)
    expect(await gone.ping()).toBe('PONG')
    await users.remove(GONE)
    await expect(gone.ping()).rejects.toThrow()
    await expect(as(GONE).ping()).rejects.toThrow(/WRONGPASS/)
  })

  it('lets the operator do its work under its own user: signed configs, announcements, clean-up', async () => {
    const { generateKeyPairSync } = await import('node:crypto')
    const { ConfigStore } = await import('../operator/src/redis/config-store.ts')
    const { compileTenantConfig, DEFAULT_PRICES, DEFAULT_TIERS } = await import('@tollgate/api')
    const store = new ConfigStore(operator as never, generateKeyPairSync('ed25519').privateKey)
    const { config } = compileTenantConfig({
      tenant: {
        apiVersion: 'tollgate.dev/v1alpha1',
        kind: 'Tenant',
        metadata: { name: INITECH },
        spec: { providers: [{ name: 'openai', type: 'openai' }] },
      },
      policies: [],
      tiers: DEFAULT_TIERS,
      prices: DEFAULT_PRICES,
      version: 0,
    })
    expect(await store.writeConfig(config)).toMatchObject({ written: true })
    expect((await store.read(INITECH))?.tenant).toBe(INITECH)
    expect(await store.cacheGeneration(INITECH, 'purge-1')).toBe(1)
    expect(await store.deleteTenant(INITECH)).toBeGreaterThan(0)
    // ...and no more than that: other data of the same Redis is not the operator's.
    await expect(operator.call('FLUSHALL')).rejects.toThrow(/NOPERM/)
    await expect(operator.get('someone-else:key')).rejects.toThrow(/NOPERM/)
  })

  it('lets the real sidecar do all its work under its tenant user: config, limits, cache, usage', async () => {
    const fake: FakeProvider = await startFakeProvider({ apiKey: REAL_KEY })
    const f = await exchangeFixture(stack, {
      redisUrl: stack.redisSidecarUrl,
      secrets: { 'openai-key': { apiKey: REAL_KEY } },
      spec: (system) => ({
        tier: 'standard',
        cache: { enabled: true },
        budgets: [{ period: 'day', limitUSD: '10' }],
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
    let sidecar: Sidecar | undefined
    try {
      await f.ensureAclUser(operator)
      const { compileTenantConfig, DEFAULT_PRICES, DEFAULT_TIERS } = await import('@tollgate/api')
      const { config } = compileTenantConfig({
        tenant: f.tenant,
        policies: [],
        tiers: DEFAULT_TIERS,
        prices: DEFAULT_PRICES,
        version: 1,
      })
      await f.storeConfig(operator, config)
      const { sidecarEnv, tokenFile } = await f.injectedPod('worker')
      const options = parseFlags([], {
        ...sidecarEnv,
        TOLLGATE_TOKEN_FILE: tokenFile,
        TOLLGATE_LISTEN: '127.0.0.1:0',
        TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0',
        TOLLGATE_LOG_LEVEL: 'warn',
        TOLLGATE_CACHE_MEMORY_BYTES: '0',
      })
      if (!options) throw new Error('no options')
      sidecar = await startSidecar(options, {}, { write: () => true })
      await sidecar.config.loaded
      const openai = new OpenAI({
        apiKey: PLACEHOLDER_KEY,
        baseURL: `${sidecar.proxyUrl}/openai/v1`,
        maxRetries: 0,
      })
      const ask = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'under ACLs' }] }
      const first = await openai.chat.completions.create(ask).withResponse()
      const second = await openai.chat.completions.create(ask).withResponse()
      expect(first.response.headers.get('x-tollgate-cache')).toBe('miss')
      expect(second.response.headers.get('x-tollgate-cache')).toBe('hit')
      await flushUsage(sidecar)
      const tenant = f.tenant.metadata.name
      const hours = await operator.smembers(keys.usageHours(tenant))
      expect(hours.length).toBe(1)
      const usage = await operator.hgetall(keys.usage(tenant, hours[0] as string))
      expect(Object.keys(usage).some((field) => field.split('|')[3] === 'requests')).toBe(true)
      const metrics = await (await fetch(`${sidecar.adminUrl}/metrics`)).text()
      expect(metrics).toMatch(/tollgate_redis_up\{[^}]*\} 1/)
      expect(metrics).not.toMatch(/tollgate_limiter_fallbacks_total\{[^}]*\} [1-9]/)
      expect(metrics).not.toMatch(/tollgate_usage_write_errors_total\{[^}]*\} [1-9]/)
    } finally {
      await sidecar?.shutdown(500)
      await f.close()
      await fake.close()
    }
  })
})
