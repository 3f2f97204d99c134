import { createPrivateKey } from 'node:crypto'
import type { V1Pod, V1Secret, V1SecretList } from '@kubernetes/client-node'
import { channels, keys, type Tenant, tenantAclUser } from '@tollgate/api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { operatorKeys } from '../../operator/src/keys/operator-keys.ts'
import { RedisPasswords } from '../../operator/src/redis/redis-passwords.ts'
import {
  appPods,
  callFromApp,
  clusterEnv,
  demo,
  eventually,
  fakeUsage,
  type Kube,
  kube,
  nameOf,
  psql,
  redisCli,
  tenant,
  tenantKeyUsage,
} from './support.ts'

// The attacks of docs/security.md, each against the chart as `npm run cluster:up` installs it, from
// where a real attacker would stand: an app container of a tenant, a developer of a tenant
// namespace, a Tenant author, or a pod of some other namespace. Every one of them worked before
// the trust boundaries were drawn.

let k: Kube
/** The sample app's image: it has Node, which the scripts below run in. */
let appImage: string
/**
 * A pod in a namespace no Tenant claims, "any pod in the cluster". Its namespace is the one the
 * chart's default NetworkPolicy lets reach the operator's metrics port (a Prometheus would run
 * there): what stops it there is the token check.
 */
const outsider = { namespace: 'monitoring', pod: 'outsider' }
const redisHost = `${demo.release}-redis.${demo.systemNamespace}.svc`
const operatorHost = `${demo.release}.${demo.systemNamespace}.svc`

beforeAll(async () => {
  k = kube(await clusterEnv())
  const [app] = await appPods(k)
  appImage = (
    await k('-n', demo.namespace, 'get', 'pod', app as string, '-o', 'jsonpath={.spec.containers[0].image}')
  ).trim()
  await k.apply(
    manifests(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: outsider.namespace } },
      {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'reader', namespace: outsider.namespace },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: outsider.pod, namespace: outsider.namespace },
        spec: {
          containers: [
            { name: 'main', image: appImage, command: ['node', '-e', 'setInterval(() => {}, 1 << 30)'] },
          ],
          terminationGracePeriodSeconds: 0,
        },
      },
    ),
  )
  await k('-n', outsider.namespace, 'wait', '--for=condition=Ready', `pod/${outsider.pod}`, '--timeout=120s')
}, 180_000)

afterAll(async () => {
  await k?.result('delete', 'namespace', outsider.namespace, '--wait=false')
  await k?.result('delete', 'tenant', 'thief', '--ignore-not-found')
})

/** manifests is documents as one YAML stream, for kubectl apply. */
const manifests = (...docs: object[]) => docs.map((d) => stringify(d)).join('---\n')

/** inPod runs a Node script in a container; its arguments arrive as process.argv[1..]. */
const inPod = (namespace: string, pod: string, container: string, script: string, ...args: string[]) =>
  k('-n', namespace, 'exec', pod, '-c', container, '--', 'node', '-e', script, ...args)

/**
 * RESP_SCRIPT connects to host:port over TCP, sends each command (a JSON array of arguments) and
 * prints the reply lines it got, or the connect error: a raw socket, as any process in a pod has.
 */
const RESP_SCRIPT = `
const net = require('node:net')
const [host, port, ...commands] = process.argv.slice(1)
const socket = net.connect({ host, port: Number(port) })
let data = ''
const done = (out) => { console.log(JSON.stringify(out)); socket.destroy(); process.exit(0) }
const timer = setTimeout(() => done({ error: 'timeout' }), 5000)
socket.on('error', (e) => done({ error: e.code }))
socket.on('data', (d) => { data += d })
socket.on('connect', () => {
  clearTimeout(timer)
  for (const c of commands.map((c) => JSON.parse(c)))
    socket.write('*' + c.length + '\\r\\n' + c.map((a) => '$' + Buffer.byteLength(a) + '\\r\\n' + a + '\\r\\n').join(''))
  setTimeout(() => done({ replies: data.split('\\r\\n').filter((l) => /^[+-:]/.test(l)) }), 1500)
})`

interface RespResult {
  error?: string
  replies?: string[]
}

async function redisFrom(
  where: { namespace: string; pod: string; container: string },
  ...commands: string[][]
) {
  const out = await inPod(
    where.namespace,
    where.pod,
    where.container,
    RESP_SCRIPT,
    redisHost,
    '6379',
    ...commands.map((c) => JSON.stringify(c)),
  )
  return JSON.parse(out.trim()) as RespResult
}

/** appContainer is the demo app's container: where a tenant's own code runs. */
const appContainer = async () => ({
  namespace: demo.namespace,
  pod: (await appPods(k))[0] as string,
  container: 'app',
})

/** FETCH_SCRIPT prints the status and body of a GET, with an optional bearer token. */
const FETCH_SCRIPT = `
const [url, token] = process.argv.slice(1)
fetch(url, { headers: token ? { authorization: 'Bearer ' + token } : {}, signal: AbortSignal.timeout(5000) })
  .then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })))
  .catch((e) => console.log(JSON.stringify({ error: String(e.cause?.code ?? e.name) })))`

async function fetchFrom(
  where: { namespace: string; pod: string; container: string },
  url: string,
  token = '',
) {
  return JSON.parse(
    (await inPod(where.namespace, where.pod, where.container, FETCH_SCRIPT, url, token)).trim(),
  ) as {
    status?: number
    body?: string
    error?: string
  }
}

/** tenantRedisPassword is what the operator hands a tenant's sidecars now, derived as it does. */
async function tenantRedisPassword(tenant: string): Promise<string> {
  const secret = await k.json<V1Secret>('-n', demo.systemNamespace, 'get', 'secret', `${demo.release}-keys`)
  const data = secret.data as Record<string, string>
  const signing = createPrivateKey(Buffer.from(data['config-signing.pem'] as string, 'base64'))
  const derived = operatorKeys(signing, Buffer.from(data.seed as string, 'base64')).derive('redis-acl')
  return new RedisPasswords(derived, 24 * 3_600_000).current(tenant, new Date())
}

describe('Redis answers only to whom it must', () => {
  it('refuses an app container that connects without a credential', async () => {
    const result = await redisFrom(await appContainer(), ['PING'], ['GET', keys.config(demo.tenant)])
    expect(result.error).toBeUndefined()
    expect(result.replies?.[0]).toMatch(/^-NOAUTH/)
    expect(result.replies?.[1]).toMatch(/^-NOAUTH/)
  })

  it("keeps a tenant's credential to its own keys: another tenant's are out of reach, its config read-only", async () => {
    const password = await tenantRedisPassword(demo.tenant)
    const result = await redisFrom(
      await appContainer(),
      ['AUTH', tenantAclUser(demo.tenant), password],
      ['GET', keys.config('some-other-tenant')],
      ['SET', keys.config(demo.tenant), '{}'],
      ['SCAN', '0'],
      ['EXISTS', keys.config(demo.tenant)],
    )
    expect(result.replies).toEqual([
      '+OK',
      expect.stringMatching(/^-NOPERM/),
      expect.stringMatching(/^-NOPERM/),
      expect.stringMatching(/^-NOPERM/),
      ':1',
    ])
  })

  it('keeps a pod that is not an injected one from even connecting, and Postgres to the operator (NetworkPolicies)', async () => {
    // kube-router, the test node's enforcer, rejects: the connection is refused rather than dropped.
    const refused = /^(ECONNREFUSED|timeout)$/
    expect((await redisFrom({ ...outsider, container: 'main' }, ['PING'])).error).toMatch(refused)
    const postgres = `${demo.release}-postgres.${demo.systemNamespace}.svc`
    for (const where of [{ ...outsider, container: 'main' }, await appContainer()]) {
      const out = await inPod(where.namespace, where.pod, where.container, RESP_SCRIPT, postgres, '5432')
      expect((JSON.parse(out.trim()) as RespResult).error, where.namespace).toMatch(refused)
    }
  })
})

describe('config integrity', () => {
  it('a config forged with the operator credential is refused by the sidecar, which keeps its last good one', async () => {
    const key = keys.config(demo.tenant)
    const original = (await redisCli(k, 'GET', key)).replace(/\n$/, '')
    const stored = JSON.parse(original)
    expect(stored.signature).toBeTruthy()
    const metricsOf = async () =>
      (await fetchFrom(await appContainer(), 'http://127.0.0.1:4142/metrics')).body ?? ''
    const rejected = (text: string) =>
      Number(/tollgate_config_loads_total\{result="rejected"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0)
    const before = rejected(await metricsOf())
    // What an attacker with the operator's Redis password would write: a higher version (so a
    // sidecar that took it would never go back), the provider pointed at a host of theirs, and the
    // signature of the real one (they cannot make their own).
    const config = JSON.parse(stored.config)
    const version = config.version
    config.version = 2 ** 40
    for (const p of Object.values(config.providers ?? {}) as { baseURL?: string }[])
      p.baseURL = 'http://attacker.monitoring.svc'
    const forged = JSON.stringify({ ...stored, config: JSON.stringify(config) })
    const forge = async () => {
      await redisCli(k, 'SET', key, forged)
      await redisCli(k, 'SPUBLISH', channels.config(demo.tenant), String(config.version))
    }
    try {
      await forge()
      await eventually(
        async () => {
          if (rejected(await metricsOf()) > before) return true
          // The operator replaces any config it did not sign when it reconciles the tenant (as
          // after the roll of 07-upgrade), and may do so before the sidecar reads the forged one:
          // then the sidecar only ever saw good configs, so forge it again.
          if ((await redisCli(k, 'GET', key)).replace(/\n$/, '') !== forged) await forge()
          return false
        },
        60_000,
        'the forged config rejected',
        500,
      ).catch(async (error: Error) => {
        // say what the sidecar counted, for a run that never sees the rejection
        const loads = (await metricsOf())
          .split('\n')
          .filter((l) => l.startsWith('tollgate_config_loads_total'))
        throw new Error(`${error.message}; before: ${before} rejected; now: ${loads.join(' | ')}`, {
          cause: error,
        })
      })
      const served = tenantKeyUsage(await fakeUsage(k)).calls
      const [result] = await callFromApp(k, {
        provider: 'openai',
        model: 'gpt-4o-mini',
        prompt: `forged ${Date.now()}`,
      })
      // The forged provider address does not resolve: a 200 means the call went where the signed
      // config says, with the tenant's key (the app's own loop may add calls of its own meanwhile).
      expect(result?.status).toBe(200)
      expect(tenantKeyUsage(await fakeUsage(k)).calls).toBeGreaterThan(served)
    } finally {
      await redisCli(k, 'SET', key, original)
      await redisCli(k, 'SPUBLISH', channels.config(demo.tenant), String(version))
    }
  })
})

describe('admission', () => {
  const testPod = (name: string, spec: Record<string, unknown>, annotations: Record<string, string> = {}) =>
    stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: demo.namespace, annotations, labels: { 'tollgate-trust-test': 'true' } },
      spec: {
        terminationGracePeriodSeconds: 0,
        containers: [
          { name: 'app', image: appImage, command: ['node', '-e', 'setInterval(() => {}, 1 << 30)'] },
        ],
        ...spec,
      },
    })
  afterAll(async () => {
    await k?.result(
      '-n',
      demo.namespace,
      'delete',
      'pods,secrets,credentialgrants',
      '-l',
      'tollgate-trust-test',
    )
    await k?.result('delete', 'tenant', 'granted', '--ignore-not-found')
  })

  it('refuses a pod that mounts a tollgate.dev token in its app container', async () => {
    const result = await k.applyResult(
      testPod('token-thief', {
        volumes: [
          {
            name: 'stolen',
            projected: { sources: [{ serviceAccountToken: { audience: 'tollgate.dev', path: 'token' } }] },
          },
        ],
        containers: [
          {
            name: 'app',
            image: appImage,
            command: ['sleep', '1'],
            volumeMounts: [{ name: 'stolen', mountPath: '/stolen' }],
          },
        ],
      }),
    )
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('tollgate.dev/TokenAudienceMounted')
  })

  it('refuses a pod that mounts a Secret a Tenant keeps its provider key in', async () => {
    // A team lends its own key to a Tenant with a CredentialGrant; its pods still may not read it.
    await k.apply(
      manifests(
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: {
            name: 'team-key',
            namespace: demo.namespace,
            labels: { 'tollgate-trust-test': 'true' },
          },
          stringData: { apiKey: 'sk-team-lent-key' },
        },
        {
          apiVersion: 'tollgate.dev/v1alpha1',
          kind: 'CredentialGrant',
          metadata: { name: 'lend', namespace: demo.namespace, labels: { 'tollgate-trust-test': 'true' } },
          spec: { tenants: ['granted'], secrets: ['team-key'] },
        },
        {
          apiVersion: 'tollgate.dev/v1alpha1',
          kind: 'Tenant',
          metadata: { name: 'granted' },
          spec: {
            namespaces: ['trust-granted'],
            providers: [
              {
                name: 'openai',
                type: 'openai',
                credentialsSecretRef: { namespace: demo.namespace, name: 'team-key', key: 'apiKey' },
              },
            ],
          },
        },
      ),
    )
    const pod = testPod('secret-reader', {
      containers: [
        {
          name: 'app',
          image: appImage,
          command: ['sleep', '1'],
          env: [{ name: 'KEY', valueFrom: { secretKeyRef: { name: 'team-key', key: 'apiKey' } } }],
        },
      ],
    })
    await eventually(
      async () => {
        const result = await k.applyResult(pod)
        if (result.code === 0)
          await k.result('-n', demo.namespace, 'delete', 'pod', 'secret-reader', '--wait=false')
        return result.code !== 0 && result.stderr.includes('tollgate.dev/TollgateSecretMounted')
      },
      30_000,
      'the pod refused once the webhook knows the Tenant',
      1000,
    )
  })

  it("refuses a privileged pod, which could read the sidecar's memory (Pod Security baseline)", async () => {
    const result = await k.applyResult(
      testPod('privileged', {
        containers: [
          { name: 'app', image: appImage, command: ['sleep', '1'], securityContext: { privileged: true } },
        ],
      }),
    )
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('violates PodSecurity "baseline')
  })

  it('injects a pod that carries a forged tollgate.dev/injected annotation, and replaces the annotation', async () => {
    const [app] = await appPods(k)
    const real = (
      await k(
        '-n',
        demo.namespace,
        'get',
        'pod',
        app as string,
        '-o',
        'jsonpath={.metadata.annotations.tollgate\\.dev/injected}',
      )
    ).trim()
    // A valid record copied from a real injected pod: once, it made the webhook skip the pod.
    await k.apply(testPod('forged', {}, { 'tollgate.dev/injected': real }))
    const stored = await k.json<V1Pod>('-n', demo.namespace, 'get', 'pod', 'forged')
    expect(stored.spec?.initContainers?.map((c) => c.name)).toEqual(['tollgate-sidecar'])
    const env = stored.spec?.containers[0]?.env?.map((e) => e.name) ?? []
    expect(env).toContain('OPENAI_BASE_URL')
  })

  it('refuses a developer of the namespace exec into the sidecar, and allows it into the app', async () => {
    // What the built-in edit role grants for exec, to a ServiceAccount of the tenant's namespace.
    await k.apply(
      manifests(
        {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: 'trust-developer', namespace: demo.namespace },
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: 'trust-developer', namespace: demo.namespace },
          rules: [
            { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
            { apiGroups: [''], resources: ['pods/exec', 'pods/attach'], verbs: ['create', 'get'] },
          ],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'trust-developer', namespace: demo.namespace },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'trust-developer' },
          subjects: [{ kind: 'ServiceAccount', name: 'trust-developer', namespace: demo.namespace }],
        },
      ),
    )
    try {
      const [app] = await appPods(k)
      const as = `--as=system:serviceaccount:${demo.namespace}:trust-developer`
      const exec = (container: string) =>
        k.result(as, '-n', demo.namespace, 'exec', app as string, '-c', container, '--', 'true')
      const sidecar = await exec('tollgate-sidecar')
      expect(sidecar.code).not.toBe(0)
      expect(sidecar.stderr).toContain('exec and attach into the Tollgate sidecar are not allowed')
      expect((await exec('app')).code).toBe(0)
    } finally {
      await k.result('-n', demo.namespace, 'delete', 'rolebinding,role,serviceaccount', 'trust-developer')
    }
  })
})

describe('a Tenant author', () => {
  it('cannot have the operator read a Secret of another namespace without a grant', async () => {
    await k.apply(
      stringify({
        apiVersion: 'tollgate.dev/v1alpha1',
        kind: 'Tenant',
        metadata: { name: 'thief' },
        spec: {
          namespaces: ['trust-thief'],
          providers: [
            {
              name: 'openai',
              type: 'openai',
              baseURL: 'http://attacker.monitoring.svc/v1',
              credentialsSecretRef: { namespace: 'kube-system', name: 'bootstrap-token', key: 'token' },
            },
          ],
        },
      }),
    )
    await eventually(
      async () => {
        const t = await k.json<Tenant>('get', 'tenant', 'thief')
        const ready = t.status?.conditions?.find((c) => c.type === 'Ready')
        return (
          ready?.status === 'False' &&
          ready.reason === 'ReferenceNotPermitted' &&
          ready.message.includes('spec.providers[0].credentialsSecretRef')
        )
      },
      30_000,
      'the Tenant not Ready, naming the field',
      500,
    )
  })
})

describe("the operator's HTTP surfaces", () => {
  const usage = `http://${operatorHost}:8080/api/v1/usage?tenant=${demo.tenant}`
  const from = () => ({ ...outsider, container: 'main' })
  const token = async () => (await k('-n', outsider.namespace, 'create', 'token', 'reader')).trim()

  it('answer the usage API 401 without a token and 403 with a token lacking the right', async () => {
    expect(await fetchFrom(from(), usage)).toMatchObject({ status: 401 })
    expect(await fetchFrom(from(), usage, await token())).toMatchObject({ status: 403 })
    expect(await fetchFrom(from(), `http://${operatorHost}:8080/metrics`)).toMatchObject({ status: 401 })
    // From a namespace networkPolicies.metricsFrom does not name, the port does not even answer.
    expect((await fetchFrom(await appContainer(), usage)).error).toMatch(/^(ECONNREFUSED|TimeoutError)$/)
  })

  it('answer with the right: get on tenants/<tenant>', async () => {
    await k(
      'create',
      'clusterrole',
      'trust-usage-reader',
      '--verb=get',
      '--resource=tenants.tollgate.dev',
      `--resource-name=${demo.tenant}`,
    )
    try {
      await k(
        'create',
        'clusterrolebinding',
        'trust-usage-reader',
        '--clusterrole=trust-usage-reader',
        `--serviceaccount=${outsider.namespace}:reader`,
      )
      expect(await fetchFrom(from(), usage, await token())).toMatchObject({ status: 200 })
      expect(await fetchFrom(from(), usage.replace(demo.tenant, 'thief'), await token())).toMatchObject({
        status: 403,
      })
    } finally {
      await k.result('delete', 'clusterrolebinding', 'trust-usage-reader')
      await k.result('delete', 'clusterrole', 'trust-usage-reader')
    }
  })

  it("the sidecar's /config and /usage answer only inside the pod", async () => {
    const [app] = await appPods(k)
    const ip = (
      await k('-n', demo.namespace, 'get', 'pod', app as string, '-o', 'jsonpath={.status.podIP}')
    ).trim()
    expect(await fetchFrom(from(), `http://${ip}:4142/config`)).toMatchObject({ status: 403 })
    expect(await fetchFrom(from(), `http://${ip}:4142/usage`)).toMatchObject({ status: 403 })
    expect(await fetchFrom(from(), `http://${ip}:4142/healthz`)).toMatchObject({ status: 200 })
    expect(await fetchFrom(await appContainer(), 'http://127.0.0.1:4142/config')).toMatchObject({
      status: 200,
    })
  })
})

describe('what the sidecar forwards', () => {
  it("drops the billing headers an app sends: who is billed is the Tenant's to say", async () => {
    const marker = `trust-${Date.now()}`
    const script = `
fetch(process.env.OPENAI_BASE_URL + '/chat/completions', {
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    authorization: 'Bearer placeholder',
    'OpenAI-Organization': 'org-chosen-by-the-app',
    'OpenAI-Project': 'proj-chosen-by-the-app',
    'idempotency-key': process.argv[1],
    'x-not-on-the-list': 'dropped',
  },
  body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'who pays' }] }),
}).then((r) => console.log(r.status))`
    const where = await appContainer()
    expect((await inPod(where.namespace, where.pod, where.container, script, marker)).trim()).toBe('200')
    const path = `/api/v1/namespaces/${demo.providerNamespace}/services/${demo.provider}:http/proxy/_fake/headers`
    const { requests } = JSON.parse(await k('get', '--raw', path)) as {
      requests: { path: string; headers: Record<string, string> }[]
    }
    // Ours is the one with our idempotency key, which is on the allow-list.
    const ours = requests.find((r) => r.headers['idempotency-key'] === marker)
    expect(ours?.path).toBe('/v1/chat/completions')
    expect(ours?.headers).not.toHaveProperty('openai-organization')
    expect(ours?.headers).not.toHaveProperty('openai-project')
    expect(ours?.headers).not.toHaveProperty('x-not-on-the-list')
  })
})

describe('no provider key in a tenant namespace', () => {
  it('holds no Secret with the key, and the operator mirrors none anywhere', async () => {
    const mirrored = await k.json<V1SecretList>('get', 'secrets', '-A', '-l', 'tollgate.dev/tenant')
    expect(mirrored.items.map(nameOf)).toEqual([])
    const secrets = await k.json<V1SecretList>('-n', demo.namespace, 'get', 'secrets')
    const key = Buffer.from(demo.providerKey).toString('base64')
    for (const s of secrets.items) expect(Object.values(s.data ?? {}), nameOf(s)).not.toContain(key)
  })
})

describe('budget alerts', () => {
  it('are never sent to the cloud metadata address a Tenant author names', async () => {
    const before = await tenant(k)
    await k.apply(
      stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'trust-alert-url', namespace: demo.systemNamespace },
        stringData: { url: 'https://169.254.169.254/latest/meta-data/iam/security-credentials/' },
      }),
    )
    // A budget the day's spend is already past, so both thresholds fire at the next flush.
    const patch = {
      spec: {
        budgets: [{ period: 'day', limitUSD: '0.000001', timezone: 'UTC', alertAt: [0.8, 1.0] }],
        alerts: {
          webhookSecretRef: { namespace: demo.systemNamespace, name: 'trust-alert-url', key: 'url' },
        },
      },
    }
    await k('patch', 'tenant', demo.tenant, '--type=merge', '-p', JSON.stringify(patch))
    try {
      await eventually(
        async () => {
          const rows = await psql(
            k,
            `SELECT last_error FROM alerts_sent WHERE tenant = '${demo.tenant}' AND last_error IS NOT NULL`,
          )
          return rows.some(([error]) => error?.includes('not sent to 169.254.169.254: not a public address'))
        },
        60_000,
        'the alert refused for its address',
        1000,
      )
    } finally {
      const restore = { spec: { budgets: before.spec.budgets ?? null, alerts: before.spec.alerts ?? null } }
      await k('patch', 'tenant', demo.tenant, '--type=merge', '-p', JSON.stringify(restore))
      await k.result('-n', demo.systemNamespace, 'delete', 'secret', 'trust-alert-url')
    }
  })
})
