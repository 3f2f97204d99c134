// The system under soak: the loopback stack (etcd + kube-apiserver, Redis, Postgres), the fake
// provider, two operator replicas (leader election, each serving the webhook and the exchange) and
// one managed sidecar per tenant, injected through the API server by the operator's webhook and
// started with exactly the injected environment, as test/e2e/governed-call.test.ts does for one.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RedisMode } from '@tollgate/api/redis-mode.ts'
import { stringify } from 'yaml'
import { type FakeProvider, startFakeProvider } from '../../test/fake-provider/fake-provider.ts'
import { eventually } from '../../test/support/eventually.ts'
import { kubectl, kubectlOK } from '../../test/support/kubectl.ts'
import { injectionWebhookConfiguration } from '../../test/support/webhook-configuration.ts'
import { freePort } from '../stack/process.ts'
import { type Stack, startStack } from '../stack/stack.ts'
import { NodeChild } from './child-process.ts'
import { manifests, type SoakTenant, soakTenants } from './tenants.ts'

/** Operator timings: short leases so a killed leader is replaced within seconds, a flush a second. */
const LEASE = ['--lease-duration', '4s', '--renew-deadline', '3s', '--retry-period', '500ms']
const USAGE_INTERVAL = '1s'

export interface OperatorReplica {
  identity: string
  process: NodeChild
}

export interface SoakSidecar {
  tenant: SoakTenant
  proxyUrl: string
  adminUrl: string
  process: NodeChild
}

export interface SoakSystem {
  run: string
  dir: string
  stack: Stack
  fake: FakeProvider
  tenants: SoakTenant[]
  operators: OperatorReplica[]
  sidecars: SoakSidecar[]
  /** lease reads the operators' Lease: who leads, and when it last renewed (ms). */
  lease(): Promise<{ holder: string; renewMs: number } | undefined>
  close(): Promise<void>
}

export async function startSoakSystem(options: {
  dir: string
  redis: RedisMode
  log: (line: string) => void
}): Promise<SoakSystem> {
  const { dir, log } = options
  const run = `soak-${Date.now().toString(36)}`
  const system = `${run}-system`
  mkdirSync(join(dir, 'logs'), { recursive: true })
  log('starting the stack (etcd, kube-apiserver, Redis, Postgres)')
  const stack = await startStack({ dir: join(dir, 'stack'), redisMode: options.redis })
  const env = stack.env
  const fake = await startFakeProvider({ record: false })
  const children: NodeChild[] = []
  const close = async () => {
    await Promise.all(children.map((c) => c.kill()))
    await fake.close()
    await stack.close()
  }
  try {
    const tenants = soakTenants(run)
    const selector = { 'tollgate.dev/soak': run }
    const webhookConfig = `${run}-webhook`
    const injectionConfig = join(dir, 'injection.yaml')
    writeFileSync(
      injectionConfig,
      stringify({ image: 'tollgate-sidecar:soak', redis: { url: env.redisSidecarUrl, mode: env.redisMode } }),
    )
    await kubectlOK(env, ['create', 'namespace', system])
    const ports = [await freePort(), await freePort()]
    const operators = ports.map((port, i): OperatorReplica => {
      const identity = `${run}-operator-${i}`
      const args = [
        'operator/src/main.ts',
        ...['--kubeconfig', env.kubeconfig, '--redis', env.redisUrl, '--redis-mode', env.redisMode],
        ...['--database', env.databaseUrl],
        ...['--metrics-listen', '127.0.0.1:0', '--health-listen', '127.0.0.1:0'],
        ...['--namespace', system, '--lease-namespace', system, '--lease-name', run, '--identity', identity],
        ...LEASE,
        ...['--usage-interval', USAGE_INTERVAL, '--selector', `tollgate.dev/soak=${run}`],
        ...['--webhook-listen', `127.0.0.1:${port}`, '--webhook-failure-policy', 'Fail'],
        ...['--webhook-config-name', webhookConfig, '--webhook-cert-hosts', '127.0.0.1'],
        ...['--injection-config', injectionConfig, '--exchange-url', `https://127.0.0.1:${port}/exchange`],
        ...['--log-level', 'info'],
      ]
      const process = new NodeChild(identity, args, join(dir, 'logs', `${identity}.log`))
      children.push(process)
      return { identity, process }
    })
    // Pods are injected by the first replica's webhook; the exchange URL it renders is its own.
    await kubectlOK(
      env,
      ['create', '-f', '-'],
      stringify(injectionWebhookConfiguration(webhookConfig, ports[0] as number, { 'tollgate-soak': run })),
    )
    log('starting two operator replicas')
    for (const o of operators) o.process.start()
    const docs = manifests({ run, system, tenants, fakeUrl: fake.url, selector })
    await kubectlOK(env, ['apply', '-f', '-'], docs.map((d) => stringify(d)).join('---\n'))
    for (const t of tenants)
      await kubectlOK(env, ['wait', '--for=condition=Ready', `tenant/${t.name}`, '--timeout=120s'])
    log('injecting a pod per tenant and starting its sidecar')
    const sidecars: SoakSidecar[] = []
    for (const tenant of tenants) {
      const sidecar = await startSidecar(env, tenant, dir)
      children.push(sidecar.process)
      sidecars.push(sidecar)
    }
    for (const s of sidecars)
      await eventually(
        async () => (await fetch(`${s.adminUrl}/readyz`, { signal: AbortSignal.timeout(2000) })).ok,
        60_000,
        `the sidecar of ${s.tenant.name} to be ready`,
      )
    const lease = async () => {
      const got = await kubectl(env, ['-n', system, 'get', 'lease', run, '-o', 'json'])
      if (got.code !== 0) return undefined
      const spec = JSON.parse(got.stdout).spec as { holderIdentity?: string; renewTime?: string }
      if (!spec.holderIdentity || !spec.renewTime) return undefined
      return { holder: spec.holderIdentity, renewMs: Date.parse(spec.renewTime) }
    }
    return { run, dir, stack, fake, tenants, operators, sidecars, lease, close }
  } catch (error) {
    await close()
    throw error
  }
}

/** startSidecar creates the tenant's pod through the API server (the webhook injects it) and runs its sidecar. */
async function startSidecar(env: Stack['env'], tenant: SoakTenant, dir: string): Promise<SoakSidecar> {
  const pod = stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'app', namespace: tenant.namespace },
    spec: { serviceAccountName: 'app', containers: [{ name: 'app', image: 'example.com/app:1' }] },
  })
  // The webhook's cache may see the tenant turn Ready a moment after the API server did.
  await eventually(async () => (await kubectl(env, ['create', '-f', '-'], pod)).code === 0, 30_000, 'the pod')
  const stored = JSON.parse(await kubectlOK(env, ['get', 'pod', '-n', tenant.namespace, 'app', '-o', 'json']))
  const container = stored.spec.initContainers?.[0]
  if (container?.name !== 'tollgate-sidecar') throw new Error(`the pod of ${tenant.name} was not injected`)
  // kubelet's part: the projected token, bound to the pod, of audience tollgate.dev.
  const token = await kubectlOK(env, [
    ...['create', 'token', 'app', '-n', tenant.namespace, '--audience=tollgate.dev'],
    ...['--bound-object-kind=Pod', '--bound-object-name=app', `--bound-object-uid=${stored.metadata.uid}`],
    '--duration=6h',
  ])
  const tokenFile = join(dir, `${tenant.name}.token`)
  writeFileSync(tokenFile, token.trim())
  const [port, admin] = [await freePort(), await freePort()]
  const injected = Object.fromEntries(
    (container.env as { name: string; value?: string }[]).map((e) => [e.name, e.value ?? '']),
  )
  const process = new NodeChild(
    `sidecar-${tenant.name}`,
    ['sidecar/src/main.ts'],
    join(dir, 'logs', `sidecar-${tenant.name}.log`),
    {
      ...injected,
      TOLLGATE_TOKEN_FILE: tokenFile,
      TOLLGATE_NAMESPACE: tenant.namespace,
      TOLLGATE_LISTEN: `127.0.0.1:${port}`,
      TOLLGATE_ADMIN_LISTEN: `127.0.0.1:${admin}`,
      TOLLGATE_LOG_LEVEL: 'info',
    },
  )
  process.start()
  return { tenant, proxyUrl: `http://127.0.0.1:${port}`, adminUrl: `http://127.0.0.1:${admin}`, process }
}
