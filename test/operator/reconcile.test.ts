import { execFile } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { promisify } from 'node:util'
import { keys, usageField, usageHour } from '@tollgate/api'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { stringify } from 'yaml'
import type { RedisClient } from '../../operator/src/redis/redis-client.ts'
import { kubectlOK } from '../support/kubectl.ts'
import { createDatabase } from '../support/postgres.ts'
import { nodesOf, scanAll, stackRedis } from '../support/redis.ts'
import { metricsToken, serviceAccountToken } from '../support/service-account-token.ts'
import {
  eventually,
  readConfig,
  startTestOperator,
  tenantDoc,
  uniqueName,
  watchConfigChannel,
} from './support.ts'

const stack = inject('stack')
const run = uniqueName('reconcile')
const label = { 'tollgate.dev/test': run }
/** The operator's namespace (startTestOperator's default): Secrets here need no grant. */
const system = `${run}-system`
const apply = (...docs: unknown[]) =>
  kubectlOK(stack, ['apply', '-f', '-'], docs.map((d) => stringify(d)).join('---\n'))
const getTenant = async (name: string) =>
  JSON.parse(await kubectlOK(stack, ['get', 'tenant', name, '-o', 'json']))
const condition = (tenant: { status?: { conditions?: { type: string }[] } }, type: string) =>
  tenant.status?.conditions?.find((c) => c.type === type) as
    | { status: string; reason: string; message: string; observedGeneration: number }
    | undefined

let operator: Awaited<ReturnType<typeof startTestOperator>>
let redis: RedisClient
let channel: Awaited<ReturnType<typeof watchConfigChannel>>
let db: pg.Pool
let databaseUrl: string
let scrapeToken: string
const metric = async (name: string) => {
  const response = await fetch(`${operator.operator.metricsUrl}/metrics`, {
    headers: { authorization: `Bearer ${scrapeToken}` },
  })
  const text = await response.text()
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0)
}

beforeAll(async () => {
  databaseUrl = await createDatabase(stack.databaseUrl, 'operator')
  db = new pg.Pool({ connectionString: databaseUrl })
  redis = stackRedis(stack.redisUrl)
  channel = await watchConfigChannel(stack.redisUrl)
  scrapeToken = await metricsToken(stack)
  operator = await startTestOperator({
    kubeconfig: stack.kubeconfig,
    redisUrl: stack.redisUrl,
    databaseUrl,
    selector: `tollgate.dev/test=${run}`,
    leaseName: run,
    // The test's alert receiver listens on loopback over http: listed, as a platform team lists a relay.
    alertAllowHosts: ['127.0.0.1'],
  })
})

afterAll(async () => {
  await operator?.stop()
  await channel?.close()
  redis?.disconnect()
  await db?.end()
})

describe('the operator against a real API server, Redis and Postgres', () => {
  it('propagates apply, update and delete to Redis with rising versions and one message each', async () => {
    const name = uniqueName('lifecycle')
    await channel.watch(name)
    await apply(tenantDoc(name, label))
    const first = await eventually(() => readConfig(redis, name), 20_000, 'the first config')
    expect(first).toMatchObject({ tenant: name, version: 1, tier: 'standard' })
    await eventually(() => channel.count(name) === 1, 5_000, 'a pub/sub message')

    await apply(tenantDoc(name, label, { tier: 'pro' }))
    const second = await eventually(async () => {
      const c = await readConfig(redis, name)
      return c?.tier === 'pro' && c
    })
    expect(second.version).toBe(2)
    await eventually(() => channel.count(name) === 2, 5_000, 'a second message')

    // A reconcile that changes nothing in the compiled config writes nothing and publishes nothing.
    const unchanged = await metric('tollgate_operator_config_writes_total{result="unchanged"}')
    await kubectlOK(stack, ['annotate', 'tenant', name, 'example.com/note=hello'])
    await eventually(
      async () => (await metric('tollgate_operator_config_writes_total{result="unchanged"}')) > unchanged,
    )
    expect((await readConfig(redis, name))?.version).toBe(2)
    expect(channel.count(name)).toBe(2)

    const tenant = await getTenant(name)
    expect(tenant.metadata.finalizers).toContain('tollgate.dev/finalizer')
    expect(tenant.status.configVersion).toBe(2)

    await kubectlOK(stack, ['delete', 'tenant', name, '--wait=true', '--timeout=30s'])
    expect(await readConfig(redis, name)).toBeUndefined()
    const left = await scanAll(redis, `${keys.tenantPrefix(name)}*`)
    // The counter and the epoch stay (with a TTL): a re-created tenant's configs rank above the old.
    expect(left.sort()).toEqual([keys.configEpoch(name), keys.configVersion(name)].sort())
    await eventually(() => channel.count(name) === 3, 5_000, 'a message on delete')
    const { rows } = await db.query('SELECT deleted_at FROM tenants WHERE name = $1', [name])
    expect(rows[0]?.deleted_at).toBeInstanceOf(Date)
    const audit = await db.query('SELECT action FROM audit WHERE name = $1 ORDER BY id', [name])
    expect(audit.rows.map((r) => r.action)).toEqual(['created', 'updated', 'deleted'])

    // Re-created, the tenant's versions keep rising past what sidecars may still hold.
    await apply(tenantDoc(name, label))
    const again = await eventually(() => readConfig(redis, name))
    expect(again.version).toBe(3)
  })

  it('writes status with observedGeneration and the conditions kubectl shows', async () => {
    const name = uniqueName('status')
    await apply(tenantDoc(name, label, { suspended: true, budgets: [{ period: 'day', limitUSD: '10' }] }))
    await kubectlOK(stack, ['wait', '--for=condition=Ready', `tenant/${name}`, '--timeout=30s'])
    const tenant = await eventually(async () => {
      const t = await getTenant(name)
      return t.status?.usage && t
    })
    expect(tenant.status.observedGeneration).toBe(1)
    expect(condition(tenant, 'Accepted')).toMatchObject({
      status: 'True',
      reason: 'Compiled',
      observedGeneration: 1,
    })
    expect(condition(tenant, 'Synced')).toMatchObject({ status: 'True', reason: 'Synced' })
    expect(condition(tenant, 'Suspended')).toMatchObject({ status: 'True', reason: 'Suspended' })
    expect(condition(tenant, 'BudgetExceeded')).toMatchObject({ status: 'False', reason: 'WithinBudget' })
    expect(tenant.status.usage.map((u: { period: string }) => u.period)).toEqual(['day', 'month'])
    expect(tenant.status.usage[0]).toMatchObject({ costUSD: '0', limitUSD: '10', remainingUSD: '10' })
    expect((await readConfig(redis, name))?.suspended).toBe(true)
    const row = await kubectlOK(stack, ['get', 'tenant', name, '--no-headers'])
    expect(row.split(/\s+/).slice(0, 5)).toEqual([name, 'standard', '0', '10', 'True'])

    await apply(tenantDoc(name, label, { suspended: false, budgets: [{ period: 'day', limitUSD: '10' }] }))
    const updated = await eventually(async () => {
      const t = await getTenant(name)
      return t.status?.observedGeneration === 2 && t
    })
    expect(condition(updated, 'Suspended')).toMatchObject({ status: 'False', observedGeneration: 2 })
  })

  it('reports a missing Secret as Ready=False, recovers when it appears, and copies it nowhere', async () => {
    const name = uniqueName('secret')
    const target = uniqueName('app')
    await kubectlOK(stack, ['create', 'namespace', target])
    await apply(
      tenantDoc(name, label, {
        namespaces: [target],
        providers: [
          {
            name: 'openai',
            type: 'openai',
            credentialsSecretRef: { namespace: system, name: `${name}-openai`, key: 'apiKey' },
          },
        ],
      }),
    )
    const broken = await eventually(async () => {
      const t = await getTenant(name)
      return condition(t, 'Ready')?.status === 'False' && t
    })
    expect(condition(broken, 'Ready')).toMatchObject({
      reason: 'SecretNotFound',
      message: `Secret ${system}/${name}-openai not found (provider openai)`,
    })
    // The config still reaches the sidecars: it carries no secret.
    expect((await readConfig(redis, name))?.providers[0]?.credential).toEqual({
      secretNamespace: system,
      secretName: `${name}-openai`,
      key: 'apiKey',
    })

    await kubectlOK(stack, [
      '-n',
      system,
      'create',
      'secret',
      'generic',
      `${name}-openai`,
      '--from-literal=apiKey=sk-test-1',
    ])
    await kubectlOK(stack, ['wait', '--for=condition=Ready', `tenant/${name}`, '--timeout=30s'])
    // The key stays in the operator's namespace: sidecars get it by exchange, in memory.
    expect((await kubectlOK(stack, ['-n', target, 'get', 'secrets', '-o', 'name'])).trim()).toBe('')
    // The tenant's Redis user exists on every node (masters and replicas of a cluster), limited to
    // the tenant's keys and channel.
    const nodes = await nodesOf(redis)
    expect(nodes).toHaveLength(stack.redisMode === 'cluster' ? 6 : 1)
    for (const node of nodes) {
      const user = (await node.call('ACL', 'GETUSER', `tollgate-tenant-${name}`)) as string[]
      expect(user[user.indexOf('keys') + 1]).toContain(`%R~tollgate:v1:{${name}}:config`)
      expect(user[user.indexOf('channels') + 1]).toBe(`&tollgate:v1:{${name}}:config:changed`)
    }

    await kubectlOK(stack, ['delete', 'tenant', name, '--wait=true', '--timeout=30s'])
    for (const node of nodes) expect(await node.call('ACL', 'GETUSER', `tollgate-tenant-${name}`)).toBeNull()
  })

  // The attack of issue 11: a Tenant author names a Secret of any namespace, and the operator would
  // read it and hand it to the sidecar (which sends it to the author's baseURL).
  it('refuses a Secret reference into another namespace until a CredentialGrant there allows it', async () => {
    const name = uniqueName('grant')
    const other = uniqueName('team')
    await kubectlOK(stack, ['create', 'namespace', other])
    await kubectlOK(stack, [
      '-n',
      other,
      'create',
      'secret',
      'generic',
      'db-password',
      '--from-literal=pw=hunter2',
    ])
    await apply(
      tenantDoc(name, label, {
        providers: [
          {
            name: 'openai',
            type: 'openai',
            baseURL: 'https://attacker.example',
            credentialsSecretRef: { namespace: other, name: 'db-password', key: 'pw' },
          },
        ],
      }),
    )
    const refused = await eventually(async () => {
      const t = await getTenant(name)
      return condition(t, 'Ready')?.reason === 'ReferenceNotPermitted' && t
    })
    expect(condition(refused, 'Ready')).toMatchObject({
      status: 'False',
      message: `spec.providers[0].credentialsSecretRef: Secret ${other}/db-password is outside the operator's namespace ${system} and no CredentialGrant in ${other} names Tenant ${name} and Secret db-password`,
    })
    expect(condition(refused, 'Synced')).toMatchObject({ status: 'False', reason: 'ReferenceNotPermitted' })

    // A grant that names another Secret, or another tenant, changes nothing.
    const grant = (tenants: string[], secrets: string[]) => ({
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'CredentialGrant',
      metadata: { name: 'tollgate', namespace: other },
      spec: { tenants, secrets },
    })
    await apply(grant([name], ['openai-key']))
    await apply(grant(['someone-else'], ['db-password']))
    await new Promise((r) => setTimeout(r, 500))
    expect(condition(await getTenant(name), 'Ready')?.reason).toBe('ReferenceNotPermitted')
    // The namespace's owner grants exactly this tenant this Secret: now it may be used.
    await apply(grant([name], ['db-password']))
    await kubectlOK(stack, ['wait', '--for=condition=Ready', `tenant/${name}`, '--timeout=30s'])
  })

  it('reports a spec that does not compile as Accepted=False, keeps the last good config, and recovers', async () => {
    const name = uniqueName('invalid')
    const budget = (timezone: string) => ({ budgets: [{ period: 'day', limitUSD: '5', timezone }] })
    await apply(tenantDoc(name, label, budget('Europe/Berlin')))
    const good = await eventually(() => readConfig(redis, name))
    // The CRD accepts any zone-shaped name; only compiling finds that this zone does not exist.
    await apply(tenantDoc(name, label, budget('Mars/Olympus_Mons')))
    const broken = await eventually(async () => {
      const t = await getTenant(name)
      return t.status?.observedGeneration === 2 && t
    })
    expect(condition(broken, 'Accepted')).toMatchObject({
      status: 'False',
      reason: 'InvalidSpec',
      message: 'spec.budgets[0].timezone: unknown time zone Mars/Olympus_Mons',
    })
    expect(condition(broken, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' })
    expect(await readConfig(redis, name)).toEqual(good)

    await apply(tenantDoc(name, label, budget('Asia/Kolkata')))
    await kubectlOK(stack, ['wait', '--for=condition=Ready', `tenant/${name}`, '--timeout=30s'])
    expect((await readConfig(redis, name))?.budgets[0]?.timezone).toBe('Asia/Kolkata')
  })

  it('re-reconciles the tenants of a changed policy and reports Conflicted per target', async () => {
    const name = uniqueName('policy')
    const winner = `a-${name}`
    const loser = `b-${name}`
    const policy = (policyName: string, spec: Record<string, unknown>) => ({
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'RateLimitPolicy',
      metadata: { name: policyName, labels: label },
      spec: { targetRefs: [{ kind: 'Tenant', name }], ...spec },
    })
    await apply(tenantDoc(name, label))
    await eventually(() => readConfig(redis, name))
    await apply(
      policy(winner, {
        failureMode: 'closed',
        limits: [{ name: 'gpt4', match: { models: ['gpt-4o*'] }, requestsPerMinute: 7 }],
      }),
      policy(loser, { failureMode: 'open' }),
    )
    const config = await eventually(async () => {
      const c = await readConfig(redis, name)
      return c?.failureMode === 'closed' && c
    })
    expect(config.limits.find((l) => l.id === `policy.${winner}.gpt4`)?.requestsPerMinute).toBe(7)
    const status = async (p: string) =>
      JSON.parse(await kubectlOK(stack, ['get', 'rlp', p, '-o', 'json'])).status
    const lost = await eventually(async () => {
      const s = await status(loser)
      return s?.targets?.[0]?.reason === 'Conflicted' && s
    })
    expect(lost.targets).toEqual([
      {
        name,
        accepted: true,
        reason: 'Conflicted',
        message: `failureMode is overridden by policy ${winner}`,
      },
    ])
    expect(lost.conditions.find((c: { type: string }) => c.type === 'Conflicted').status).toBe('True')
    expect((await status(winner)).targets[0].reason).toBe('Accepted')

    // The CRD defaults failureMode to open, so every policy sets it: the winner goes away instead.
    await kubectlOK(stack, ['delete', 'rlp', winner])
    const after = await eventually(async () => {
      const c = await readConfig(redis, name)
      return c?.failureMode === 'open' && c
    })
    expect(after.limits.map((l) => l.id)).toEqual(['tenant'])
    await eventually(async () => (await status(loser))?.targets?.[0]?.reason === 'Accepted')
    expect((await getTenant(name)).status.appliedPolicies).toEqual([loser])
  })

  it('bumps the cache generation for each new tollgate.dev/cache-purge value', async () => {
    const name = uniqueName('purge')
    await apply(tenantDoc(name, label))
    expect((await eventually(() => readConfig(redis, name))).cache.generation).toBe(0)
    await kubectlOK(stack, ['annotate', 'tenant', name, 'tollgate.dev/cache-purge=one'])
    await eventually(async () => (await readConfig(redis, name))?.cache.generation === 1)
    await kubectlOK(stack, ['annotate', '--overwrite', 'tenant', name, 'tollgate.dev/cache-purge=two'])
    await eventually(async () => (await readConfig(redis, name))?.cache.generation === 2)
  })

  it('sends exactly one alert and one Event when a budget is crossed, and marks it exhausted', async () => {
    const name = uniqueName('budget')
    const received: string[] = []
    const receiver: Server = createServer((req, res) => {
      let body = ''
      req.on('data', (chunk) => {
        body += chunk
      })
      req.on('end', () => {
        received.push(body)
        res.end('ok')
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
    try {
      await kubectlOK(stack, [
        '-n',
        system,
        'create',
        'secret',
        'generic',
        `${name}-hook`,
        `--from-literal=url=${url}`,
      ])
      await apply(
        tenantDoc(name, label, {
          budgets: [{ period: 'day', limitUSD: '1', alertAt: [0.5, 1] }],
          alerts: { webhookSecretRef: { namespace: system, name: `${name}-hook`, key: 'url' } },
        }),
      )
      await eventually(() => readConfig(redis, name))
      const hour = usageHour(new Date())
      await redis.hincrby(
        keys.usage(name, hour),
        usageField('openai', 'gpt-4o', 'default', 'costNano'),
        1_200_000_000,
      )
      await redis.hincrby(keys.usage(name, hour), usageField('openai', 'gpt-4o', 'default', 'requests'), 4)
      await redis.sadd(keys.usageHours(name), hour)

      await eventually(() => received.length === 1, 20_000, 'the alert')
      const config = await eventually(async () => {
        const c = await readConfig(redis, name)
        return c?.budgets[0]?.exhaustedUntil && c
      })
      expect(Date.parse(config.budgets[0]?.exhaustedUntil ?? '')).toBeGreaterThan(Date.now())
      // More spend and many more flushes later, still one alert.
      await redis.hincrby(
        keys.usage(name, hour),
        usageField('openai', 'gpt-4o', 'default', 'costNano'),
        100_000_000,
      )
      const rounds = await metric('tollgate_operator_usage_flush_duration_seconds_count')
      await eventually(
        async () => (await metric('tollgate_operator_usage_flush_duration_seconds_count')) >= rounds + 5,
      )
      expect(received).toHaveLength(1)
      expect(JSON.parse(received[0] as string).text).toContain(
        `tenant ${name} has used up its $1 day budget ($1.2 spent)`,
      )
      const events = JSON.parse(
        await kubectlOK(stack, [
          '-n',
          'default',
          'get',
          'events',
          '--field-selector',
          `involvedObject.name=${name},reason=BudgetExceeded`,
          '-o',
          'json',
        ]),
      )
      expect(events.items).toHaveLength(1)
      const tenant = await eventually(async () => {
        const t = await getTenant(name)
        return condition(t, 'BudgetExceeded')?.status === 'True' && t
      })
      expect(tenant.status.usage[0]).toMatchObject({ costUSD: '1.3', remainingUSD: '0', requests: 4 })
      const { rows } = await db.query(
        'SELECT threshold::float AS threshold, notified FROM alerts_sent WHERE tenant = $1 ORDER BY threshold',
        [name],
      )
      expect(rows).toEqual([
        { threshold: 0.5, notified: false },
        { threshold: 1, notified: true },
      ])
    } finally {
      receiver.close()
    }
  })

  it('exports the ledger as CSV from the command line and as JSON over HTTP', async () => {
    const name = uniqueName('export')
    await apply(tenantDoc(name, label))
    await eventually(() => readConfig(redis, name))
    const hour = usageHour(new Date())
    for (const [counter, value] of [
      ['requests', 2],
      ['inputTokens', 100],
      ['outputTokens', 40],
      ['costNano', 650_000],
    ] as const) {
      await redis.hincrby(
        keys.usage(name, hour),
        usageField('openai', 'gpt-4o-mini', 'team-a', counter),
        value,
      )
    }
    await redis.sadd(keys.usageHours(name), hour)
    const api = `${operator.operator.metricsUrl}/api/v1/usage?tenant=${name}&from=${hour.slice(0, 10)}`
    // A reader of this tenant: `get` on tenants/<name>, the right the usage API asks for.
    const token = await serviceAccountToken(stack, `usage-${name}`, [
      { apiGroups: ['tollgate.dev'], resources: ['tenants'], resourceNames: [name], verbs: ['get'] },
    ])
    const body = await eventually(async () => {
      const response = await fetch(api, { headers: { authorization: `Bearer ${token}` } })
      const json = (await response.json()) as { rows: Record<string, unknown>[] }
      return json.rows.length === 1 && json
    })
    expect(body.rows[0]).toMatchObject({
      tenant: name,
      hour: `${hour}:00:00.000Z`,
      provider: 'openai',
      model: 'gpt-4o-mini',
      namespace: 'team-a',
      requests: 2,
      inputTokens: 100,
      outputTokens: 40,
      costNano: 650_000,
    })
    const { stdout } = await promisify(execFile)('node_modules/.bin/node', [
      'operator/src/main.ts',
      'usage',
      '--tenant',
      name,
      '--from',
      hour.slice(0, 10),
      '--format',
      'csv',
      '--database',
      databaseUrl,
    ])
    expect(stdout.trim().split('\r\n')).toEqual([
      'tenant,hour,provider,model,namespace,workload,user,requests,cache_hits,errors,input_tokens,output_tokens,cached_input_tokens,reasoning_tokens,cost_nano,cache_write_5m_tokens,cache_write_1h_tokens,audio_input_tokens,audio_output_tokens,image_input_tokens,image_output_tokens,images,audio_seconds,characters,cache_saved_nano',
      // fields of a sidecar before issue 15 (no workload, no user) read as ''
      `${name},${hour}:00:00.000Z,openai,gpt-4o-mini,team-a,,,2,0,0,100,40,0,0,650000,0,0,0,0,0,0,0,0,0,0`,
    ])
  })
})
