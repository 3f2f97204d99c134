import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { stringify } from 'yaml'
import { freePort } from '../hack/stack/process.ts'
import { eventually, uniqueName } from './operator/support.ts'
import { kubectl, kubectlOK } from './support/kubectl.ts'
import { createDatabase } from './support/postgres.ts'
import { injectionWebhookConfiguration } from './support/webhook-configuration.ts'

// The whole chain inside the test stack, through the real `tollgate-operator run` command line:
// the operator reconciles a Tenant to Ready (its key stays in the operator's namespace), its
// webhook (started by the --webhook-* flags, with a certificate it issued itself) injects a pod
// created through the API server with a projected token and the exchange address, and the
// leader's mediation loop counts the pod once it runs.
const stack = inject('stack')
const run = uniqueName('opwh')
const ns = { system: `${run}-system`, app: `${run}-app` }
const tenantName = run
const configName = `${run}-webhook`
let operator: ChildProcess
let stderr = ''

const getJSON = async (...args: string[]) =>
  JSON.parse(await kubectlOK(stack, ['get', ...args, '-o', 'json']))

beforeAll(async () => {
  const [webhookPort, healthPort] = [await freePort(), await freePort()]
  for (const name of Object.values(ns)) await kubectlOK(stack, ['create', 'namespace', name])
  await kubectlOK(stack, [
    'label',
    'namespace',
    ns.app,
    'tollgate.dev/inject=enabled',
    `tollgate-test=${run}`,
  ])
  await kubectlOK(stack, [
    'create',
    'secret',
    'generic',
    'openai-key',
    '-n',
    ns.system,
    '--from-literal=apiKey=sk-operator-webhook-test',
  ])
  // Registered first, without a caBundle: the operator fills it in when it starts.
  const config = injectionWebhookConfiguration(configName, webhookPort, { 'tollgate-test': run })
  await kubectlOK(stack, ['create', '-f', '-'], stringify(config))
  const injectionConfig = join(tmpdir(), `${run}-injection.yaml`)
  await writeFile(
    injectionConfig,
    stringify({ image: 'tollgate-sidecar:test', redis: { url: stack.redisSidecarUrl } }),
  )
  const databaseUrl = await createDatabase(stack.databaseUrl, 'opwh')
  operator = spawn(
    join(process.cwd(), 'node_modules/.bin/node'),
    [
      'operator/src/main.ts',
      'run',
      `--kubeconfig=${stack.kubeconfig}`,
      `--redis=${stack.redisUrl}`,
      `--database=${databaseUrl}`,
      '--metrics-listen=127.0.0.1:0',
      `--health-listen=127.0.0.1:${healthPort}`,
      `--lease-name=${run}`,
      `--selector=tollgate.dev/test=${run}`,
      `--webhook-listen=127.0.0.1:${webhookPort}`,
      '--webhook-failure-policy=Fail',
      '--webhook-cert-secret=webhook-cert',
      `--webhook-config-name=${configName}`,
      '--webhook-cert-hosts=127.0.0.1',
      `--injection-config=${injectionConfig}`,
      '--log-level=warn',
    ],
    { env: { ...process.env, POD_NAMESPACE: ns.system }, stdio: ['ignore', 'ignore', 'pipe'] },
  )
  operator.stderr?.on('data', (chunk) => {
    stderr += chunk
  })
  await eventually(
    async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).ok,
    60_000,
    `the operator to be ready (${stderr})`,
  )
  const tenant = {
    apiVersion: 'tollgate.dev/v1alpha1',
    kind: 'Tenant',
    metadata: { name: tenantName, labels: { 'tollgate.dev/test': run } },
    spec: {
      tier: 'standard',
      namespaces: [ns.app],
      providers: [
        {
          name: 'openai',
          type: 'openai',
          credentialsSecretRef: { namespace: ns.system, name: 'openai-key', key: 'apiKey' },
        },
      ],
    },
  }
  await kubectlOK(stack, ['create', '-f', '-'], stringify(tenant))
}, 120_000)

afterAll(async () => {
  if (operator && operator.exitCode === null) {
    const exited = once(operator, 'exit')
    operator.kill('SIGTERM')
    await exited
  }
  await kubectl(stack, ['delete', 'mutatingwebhookconfiguration', configName, '--ignore-not-found'])
})

describe('tollgate-operator run with the webhook flags', () => {
  it('reconciles the tenant to Ready and copies its provider Secret nowhere', async () => {
    await eventually(
      async () =>
        (await getJSON('tenant', tenantName)).status?.conditions?.some(
          (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
        ),
      30_000,
      'the tenant to be Ready',
    )
    expect((await getJSON('secrets', '-n', ns.app)).items).toEqual([])
    // Its keys Secret, created in its own namespace at start.
    const keys = await getJSON('secret', '-n', ns.system, 'tollgate-operator-keys')
    expect(Object.keys(keys.data).sort()).toEqual(['config-signing.pem', 'seed'])
  })

  it('issued its certificate and filled in the caBundle', async () => {
    const secret = await getJSON('secret', '-n', ns.system, 'webhook-cert')
    const config = await getJSON('mutatingwebhookconfiguration', configName)
    expect(config.webhooks[0].clientConfig.caBundle).toBe(secret.data['ca.crt'])
  })

  it('injects a pod created through the API server, with a token for the exchange and no key', async () => {
    // failurePolicy Fail: the API server only stores the pod if the webhook injected it. The
    // webhook's cache may see the tenant turn Ready a moment after the API server did.
    const podYaml = stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'app', namespace: ns.app },
      spec: { containers: [{ name: 'app', image: 'example.com/app:1' }] },
    })
    let last = ''
    await eventually(
      async () => {
        const result = await kubectl(stack, ['create', '-f', '-'], podYaml)
        last = result.stderr
        return result.code === 0
      },
      10_000,
      'the pod to be admitted',
    ).catch((error) => {
      throw new Error(`${error.message}: ${last}`)
    })
    const pod = await getJSON('pod', '-n', ns.app, 'app')
    expect(pod.spec.initContainers[0]).toMatchObject({
      name: 'tollgate-sidecar',
      image: 'tollgate-sidecar:test',
    })
    expect(pod.spec.containers[0].env).toContainEqual({
      name: 'OPENAI_BASE_URL',
      value: 'http://127.0.0.1:4141/openai/v1',
    })
    const volume = pod.spec.volumes.find((v: { name: string }) => v.name === 'tollgate-token')
    expect(volume.projected.sources).toEqual([
      { serviceAccountToken: { audience: 'tollgate.dev', expirationSeconds: 600, path: 'token' } },
    ])
    const env = Object.fromEntries(
      pod.spec.initContainers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]),
    )
    expect(env.TOLLGATE_EXCHANGE_URL).toBe(`https://tollgate.${ns.system}.svc:443/exchange`)
    expect(env.TOLLGATE_EXCHANGE_CA).toBe(
      Buffer.from(
        (await getJSON('secret', '-n', ns.system, 'webhook-cert')).data['ca.crt'],
        'base64',
      ).toString(),
    )
    expect(JSON.stringify(pod)).not.toContain('sk-operator-webhook-test')
  })

  it('counts the running pod in Tenant.status.mediatedPods', async () => {
    await kubectlOK(stack, [
      'patch',
      'pod',
      '-n',
      ns.app,
      'app',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"phase":"Running"}}',
    ])
    // The mediation loop passes every 30 s.
    const tenant = await eventually(
      async () => {
        const t = await getJSON('tenant', tenantName)
        return t.status?.mediatedPods === 1 && t
      },
      45_000,
      'mediatedPods to be 1',
    )
    expect(tenant.status.conditions.find((c: { type: string }) => c.type === 'Mediated')).toMatchObject({
      status: 'True',
      reason: 'AllPodsMediated',
    })
  }, 60_000)
})
