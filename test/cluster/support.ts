import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { KubernetesListObject, KubernetesObject, V1Pod, V1PodList } from '@kubernetes/client-node'
import { compilePrice, DEFAULT_PRICES, nanoToUsd, type Tenant } from '@tollgate/api'
import { expect, inject } from 'vitest'
import type { ClusterStackEnv } from '../../hack/stack/cluster-stack.ts'
import { demo } from '../../hack/stack/demo.ts'
import { costNano, emptyUsage, priceFamily, priceOf } from '../../sidecar/src/usage/usage.ts'
import { kubectl, kubectlOK } from '../support/kubectl.ts'

export { demo }

import { eventually } from '../support/eventually.ts'

export { eventually }

/**
 * clusterEnv waits for the cluster that test/setup/global-cluster.ts boots in the background (a
 * cold run builds every image first) and fails with its error if it did not come up.
 */
export async function clusterEnv(timeoutMs = 40 * 60_000): Promise<ClusterStackEnv> {
  const dir = inject('clusterDir')
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (existsSync(join(dir, 'env.json'))) return JSON.parse(readFileSync(join(dir, 'env.json'), 'utf8'))
    if (existsSync(join(dir, 'error.txt')))
      throw new Error(`the cluster did not come up:\n${readFileSync(join(dir, 'error.txt'), 'utf8')}`)
    if (Date.now() > deadline)
      throw new Error(`the cluster was not up after ${timeoutMs} ms; see ${dir}/start.log`)
    await sleep(500)
  }
}

/** Kube is kubectl bound to the cluster. */
export interface Kube {
  (...args: string[]): Promise<string>
  /** json runs `kubectl get ... -o json` and parses it. */
  json<T = KubernetesListObject<KubernetesObject>>(...args: string[]): Promise<T>
  /** result runs kubectl and returns its exit code and output instead of throwing. */
  result(...args: string[]): ReturnType<typeof kubectl>
  /** apply applies YAML from standard input. */
  apply(yaml: string): Promise<string>
  /** applyResult applies YAML and returns the outcome instead of throwing (for what must be refused). */
  applyResult(yaml: string): ReturnType<typeof kubectl>
}

export function kube(env: ClusterStackEnv): Kube {
  const run = (...args: string[]) => kubectlOK(env, args)
  return Object.assign(run, {
    // `get --ignore-not-found` prints nothing at all when nothing is found.
    json: async (...args: string[]) => JSON.parse((await run(...args, '-o', 'json')) || '{"items":[]}'),
    result: (...args: string[]) => kubectl(env, args),
    apply: (yaml: string) => kubectlOK(env, ['apply', '-f', '-'], yaml),
    applyResult: (yaml: string) => kubectl(env, ['apply', '-f', '-'], yaml),
  })
}

/** CallResult is what the sample app's one-shot mode prints for each call it made. */
export interface CallResult {
  provider: 'openai' | 'anthropic'
  stream: boolean
  model: string
  status: number
  usage?: { inputTokens: number; outputTokens: number } | null
  error?: { type?: string; message?: string; body?: unknown } | null
  headers?: Record<string, string>
}

/** running says whether a pod runs and is not on its way out. */
export const running = (pod: V1Pod): boolean =>
  pod.status?.phase === 'Running' && !pod.metadata?.deletionTimestamp

/** appPods are the demo app's running pods, by name. */
export async function appPods(k: Kube): Promise<string[]> {
  const pods = await k.json<V1PodList>('-n', demo.namespace, 'get', 'pods', '-l', `app=${demo.app}`)
  return pods.items.filter(running).map(nameOf)
}

/**
 * callFromApp makes calls from inside an app pod with the official SDKs, as the app would: through
 * the injected base URLs and the placeholder key. It returns one result per call.
 */
export async function callFromApp(
  k: Kube,
  call: {
    provider: 'openai' | 'anthropic'
    stream?: boolean
    model?: string
    count?: number
    prompt?: string
    /** The end user the call names (OpenAI `user`, Anthropic `metadata.user_id`). */
    user?: string
  },
): Promise<CallResult[]> {
  const [pod] = await appPods(k)
  if (!pod) throw new Error('no running app pod')
  // No retries: a test sees each answer as the sidecar gave it.
  const args = ['once', '--provider', call.provider, '--max-retries', '0']
  if (call.stream) args.push('--stream')
  if (call.model) args.push('--model', call.model)
  if (call.count) args.push('--count', String(call.count))
  if (call.prompt) args.push('--prompt', call.prompt)
  if (call.user) args.push('--user', call.user)
  const out = await k('-n', demo.namespace, 'exec', pod, '-c', 'app', '--', 'node', '/app/main.mjs', ...args)
  return out
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as CallResult)
}

/** FakeKeyUsage is what the fake provider counted for one API key: calls, and tokens per model. */
export interface FakeKeyUsage {
  keyHash: string | null
  last4: string | null
  calls: number
  inputTokens: number
  outputTokens: number
  models: Record<
    string,
    { provider: string; calls: number; inputTokens: number; cachedInputTokens: number; outputTokens: number }
  >
}

/** FakeUsage is GET /_fake/usage of the fake provider: one entry per API key it was sent. */
export interface FakeUsage {
  keys: FakeKeyUsage[]
}

/** providerKeyHash is how the fake provider names the tenant's key (it never keeps a key itself). */
export const providerKeyHash = createHash('sha256').update(demo.providerKey).digest('hex').slice(0, 16)

/** tenantKeyUsage is the fake provider's count for the tenant's key (zeros before its first call). */
export const tenantKeyUsage = (usage: FakeUsage): FakeKeyUsage =>
  usage.keys.find((key) => key.keyHash === providerKeyHash) ?? {
    keyHash: providerKeyHash,
    last4: demo.providerKey.slice(-4),
    calls: 0,
    inputTokens: 0,
    outputTokens: 0,
    models: {},
  }

/** fakeUsage asks the in-cluster fake provider what it served, through kube-apiserver's service proxy. */
export async function fakeUsage(k: Kube): Promise<FakeUsage> {
  const path = `/api/v1/namespaces/${demo.providerNamespace}/services/${demo.provider}:http/proxy/_fake/usage`
  return JSON.parse(await k('get', '--raw', path))
}

/** nameOf is an object's name ('' for none). */
export const nameOf = (o: KubernetesObject | undefined) => o?.metadata?.name ?? ''

/** pod reads one pod. */
export const pod = (k: Kube, namespace: string, name: string) =>
  k.json<V1Pod>('-n', namespace, 'get', 'pod', name)

/** podsOf lists the pods of one app.kubernetes.io/component of the release. */
export async function podsOf(k: Kube, component: string): Promise<V1Pod[]> {
  const pods = await k.json<V1PodList>(
    '-n',
    demo.systemNamespace,
    'get',
    'pods',
    '-l',
    `app.kubernetes.io/component=${component}`,
  )
  return pods.items
}

/**
 * redisCli runs redis-cli in the bundled Redis pod as the operator's user: the pod's REDISCLI_AUTH
 * holds its password, and the default user is off.
 */
export async function redisCli(k: Kube, ...args: string[]): Promise<string> {
  const [redis] = await podsOf(k, 'redis')
  return k(
    '-n',
    demo.systemNamespace,
    'exec',
    nameOf(redis),
    '--',
    'redis-cli',
    '--user',
    'tollgate-operator',
    ...args,
  )
}

/** psql runs a query in the bundled Postgres and returns its rows, tab separated. */
export async function psql(k: Kube, query: string): Promise<string[][]> {
  const [postgres] = await podsOf(k, 'postgres')
  const out = await k(
    '-n',
    demo.systemNamespace,
    'exec',
    nameOf(postgres),
    '--',
    'psql',
    '-U',
    'tollgate',
    '-d',
    'tollgate',
    '-At',
    '-F',
    '\t',
    '-c',
    query,
  )
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t'))
}

/** tenant is the demo Tenant as the API server has it. */
export const tenant = (k: Kube) => k.json<Tenant>('get', 'tenant', demo.tenant)

/** dayUsage is the demo tenant's usage of the current day, from its status. */
export const dayUsage = async (k: Kube) => (await tenant(k)).status?.usage?.find((u) => u.period === 'day')

const prices = DEFAULT_PRICES.map(compilePrice)

/**
 * expectSpendAsServed checks that the demo tenant's spend today, in its status and in
 * `kubectl get tenants`, is exactly what the fake provider served, priced with the shipped table.
 * It scales the app to zero meanwhile, so neither count moves, and back after.
 */
export async function expectSpendAsServed(k: Kube): Promise<void> {
  await k('-n', demo.namespace, 'scale', `deployment/${demo.app}`, '--replicas=0')
  await eventually(async () => (await appPodsAll(k)).length === 0, 60_000, 'app pods gone', 500)
  try {
    const served = await fakeUsage(k)
    const expected = { inputTokens: 0, outputTokens: 0, costNano: 0 }
    for (const [model, m] of Object.entries(tenantKeyUsage(served).models)) {
      expected.inputTokens += m.inputTokens
      expected.outputTokens += m.outputTokens
      expected.costNano += costNano(priceOf(prices, priceFamily(m.provider), model), {
        ...emptyUsage(),
        inputTokens: m.inputTokens,
        outputTokens: m.outputTokens,
        cachedInputTokens: m.cachedInputTokens,
      })
    }
    expect(expected.costNano).toBeGreaterThan(0)
    // The operator flushes the sidecars' counters into the ledger and the status every few seconds.
    // The ledger keeps nano-dollars; the status shows micro-dollars, as nanoToUsd rounds them. The
    // day's figures hold every call of the run, unless the run crossed midnight UTC: then the month's.
    const since = Date.parse((await tenant(k)).metadata.creationTimestamp ?? '')
    const usage = await eventually(
      async () => {
        const all = (await tenant(k)).status?.usage ?? []
        const day = all.find((u) => u.period === 'day')
        const period = day && Date.parse(day.start) <= since ? day : all.find((u) => u.period === 'month')
        return (
          period?.inputTokens === expected.inputTokens &&
          period?.outputTokens === expected.outputTokens &&
          period
        )
      },
      60_000,
      'the tenant status to count every token the provider served',
      1000,
    )
    const [[ledgerNano]] = (await psql(
      k,
      `SELECT sum(cost_nano) FROM usage_hourly WHERE tenant = '${demo.tenant}'`,
    )) as [[string]]
    expect(Number(ledgerNano)).toBe(expected.costNano)
    expect(usage.costUSD).toBe(nanoToUsd(expected.costNano))
    if (usage.period === 'day') {
      const printed = await k('get', 'tenants', demo.tenant, '--no-headers')
      expect(printed.split(/\s+/)[2]).toBe(nanoToUsd(expected.costNano))
    }
  } finally {
    await k('-n', demo.namespace, 'scale', `deployment/${demo.app}`, '--replicas=1')
    await k('-n', demo.namespace, 'rollout', 'status', `deployment/${demo.app}`, '--timeout=120s')
  }
}

const appPodsAll = async (k: Kube) =>
  (await k.json('-n', demo.namespace, 'get', 'pods', '-l', `app=${demo.app}`)).items as unknown[]
