// `npm run bench:operator`: figures for the operator on a private local stack.
//   1. latency from `kubectl apply` of a new Tenant to its config in Redis (pub/sub message), p50/p99 over 100
//   2. a full resync of 1,000 Tenants: cold (empty Redis, every config written) and warm (a restart, all no-op)
//   3. the operator's resident memory with 1,000 Tenants
//   4. analytics: a month of hourly ledger rows for 1,000 tenants, the console's tenant-detail
//      queries (hack/bench/analytics.ts; the target is under 200 ms)
// Prints figures; asserts nothing.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { channels, keys } from '@tollgate/api'
import { Redis } from 'ioredis'
import { stringify } from 'yaml'
import { startStack } from '../stack/stack.ts'
import { benchAnalytics } from './analytics.ts'

const root = new URL('../..', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'tollgate-operator-bench-'))
const stack = await startStack({ dir })
const env = stack.env
const run = promisify(execFile)
const kubectl = (args: string[], input?: string) =>
  new Promise<string>((resolve, reject) => {
    const child = execFile(
      join(env.binDir, 'kubectl'),
      ['--kubeconfig', env.kubeconfig, ...args],
      { maxBuffer: 64 << 20 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`kubectl ${args[0]}: ${stderr}`)) : resolve(stdout),
    )
    child.stdin?.end(input ?? '')
  })
const tenant = (name: string) =>
  stringify({
    apiVersion: 'tollgate.dev/v1alpha1',
    kind: 'Tenant',
    metadata: { name, labels: { bench: 'operator' } },
    spec: {
      tier: 'pro',
      providers: [{ name: 'openai', type: 'openai' }],
      budgets: [{ period: 'day', limitUSD: '50', alertAt: [0.8, 1] }],
    },
  })

let operator: { child: ChildProcess; metrics: Promise<string> } | undefined
function startOperator() {
  const child = spawn(
    join(root, 'node_modules/.bin/node'),
    [
      join(root, 'operator/src/main.ts'),
      '--kubeconfig',
      env.kubeconfig,
      '--redis',
      env.redisUrl,
      '--database',
      env.databaseUrl,
      '--metrics-listen',
      '127.0.0.1:0',
      '--health-listen',
      '127.0.0.1:0',
      '--lease-namespace',
      'default',
      '--namespace',
      'default',
      '--log-level',
      'info',
      ...(process.env.BENCH_WORKERS ? ['--workers', process.env.BENCH_WORKERS] : []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  const metrics = new Promise<string>((resolve) => {
    let buffer = ''
    const read = (chunk: Buffer) => {
      buffer += chunk
      const match = /"metrics":"(http:\/\/[^"]+)"/.exec(buffer)
      if (!match) return
      resolve(match[1] as string)
      child.stderr?.off('data', read)
      child.stderr?.resume()
    }
    child.stderr?.on('data', read)
  })
  operator = { child, metrics }
  return operator
}
async function stopOperator(signal: NodeJS.Signals = 'SIGTERM') {
  if (!operator) return
  const { child } = operator
  const exited = new Promise((r) => child.once('exit', r))
  child.kill(signal)
  await exited
  operator = undefined
}
// /metrics answers only a bearer token whose user may `get` it (TokenReview + SubjectAccessReview).
let metricsToken = ''
const metric = async (name: string) => {
  const response = await fetch(`${await operator?.metrics}/metrics`, {
    headers: { authorization: `Bearer ${metricsToken}` },
  })
  const text = await response.text()
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((s, l) => s + Number(l.split(' ').pop()), 0)
}
const waitUntil = async (fn: () => Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error('bench: timed out')
    await new Promise((r) => setTimeout(r, 50))
  }
}
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number
}
const rssMiB = () => {
  const status = readFileSync(`/proc/${operator?.child.pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024
}

// Interrupted, still take the servers down.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    operator?.child.kill('SIGKILL')
    await stack.close()
    rmSync(dir, { recursive: true, force: true })
    process.exit(130)
  })
}

// The operator's user watches configs arrive; emptying Redis for the cold start is the admin's.
const redis = new Redis(env.redisUrl)
const subscriber = new Redis(env.redisUrl)
const admin = new Redis(env.redisAdminUrl)
try {
  await kubectl(
    ['apply', '-f', '-'],
    [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'bench-metrics', namespace: 'default' } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'bench-metrics' },
        rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'bench-metrics' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'bench-metrics' },
        subjects: [{ kind: 'ServiceAccount', name: 'bench-metrics', namespace: 'default' }],
      },
    ]
      .map((d) => stringify(d))
      .join('---\n'),
  )
  metricsToken = (
    await kubectl(['create', 'token', 'bench-metrics', '-n', 'default', '--duration', '2h'])
  ).trim()
  await run(join(root, 'node_modules/.bin/node'), [
    join(root, 'operator/src/main.ts'),
    'migrate',
    'up',
    '--database',
    env.databaseUrl,
  ])
  startOperator()
  console.error('bench: waiting for the operator to lead')
  await operator?.metrics
  await waitUntil(async () => (await metric('tollgate_operator_leader ')) === 1, 60_000)
  console.error('bench: measuring apply → Redis')

  // 1. apply → Redis, one tenant at a time, measured at the (sharded) pub/sub message.
  const arrived = new Map<string, number>()
  subscriber.on('smessage', (channel: string) => {
    const name = /^tollgate:v1:\{(.+)\}:config:changed$/.exec(channel)?.[1]
    if (name && !arrived.has(name)) arrived.set(name, performance.now())
  })
  const latencies: number[] = []
  for (let i = 0; i < 100; i++) {
    const name = `lat-${i}`
    // Sharded pub/sub has no patterns: each tenant's channel is subscribed before it is applied.
    await subscriber.ssubscribe(channels.config(name))
    const started = performance.now()
    await kubectl(['apply', '-f', '-'], tenant(name))
    await waitUntil(async () => arrived.has(name), 30_000)
    latencies.push((arrived.get(name) as number) - started)
  }
  console.log(
    `apply → config in Redis (100 tenants, one kubectl apply each): p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms`,
  )

  // 2. 1,000 tenants created while the operator is down, with Redis emptied: a cold full resync.
  await stopOperator()
  const names = Array.from({ length: 1_000 }, (_, i) => `bulk-${i}`)
  for (let i = 0; i < names.length; i += 200) {
    await kubectl(
      ['apply', '-f', '-'],
      names
        .slice(i, i + 200)
        .map(tenant)
        .join('---\n'),
    )
  }
  await admin.flushdb()
  const all = [...names, ...Array.from({ length: 100 }, (_, i) => `lat-${i}`)]
  const coldStart = performance.now()
  startOperator()
  await waitUntil(async () => {
    const present = await redis.exists(...all.map((n) => keys.config(n)))
    return present === all.length
  }, 300_000)
  const cold = performance.now() - coldStart
  await waitUntil(
    async () => (await metric('tollgate_operator_workqueue_depth{controller="tenant"}')) === 0,
    300_000,
  )
  const coldDone = performance.now() - coldStart
  console.log(
    `full resync, cold (${all.length} tenants, empty Redis, operator start → every config in Redis): ${(cold / 1000).toFixed(1)} s; queue drained (status, finalizers, Postgres, Events) after ${(coldDone / 1000).toFixed(1)} s`,
  )

  // A warm restart: every tenant reconciled again, nothing to write.
  await stopOperator()
  const warmStart = performance.now()
  startOperator()
  await operator?.metrics
  await waitUntil(
    async () => (await metric('tollgate_operator_reconcile_total{controller="tenant"')) >= all.length,
    300_000,
  )
  const warm = performance.now() - warmStart
  console.log(
    `full resync, warm (${all.length} tenants, operator restart → every tenant reconciled, no config, status or Postgres writes): ${(warm / 1000).toFixed(1)} s`,
  )

  // 3. Memory with the tenants cached and the usage loop running.
  await new Promise((r) => setTimeout(r, 10_000))
  console.log(`operator RSS with ${all.length} tenants: ${rssMiB().toFixed(0)} MiB`)

  // 4. Analytics over a month of the ledger.
  await stopOperator()
  await benchAnalytics(env.databaseUrl, env.redisAdminUrl)
} finally {
  await stopOperator('SIGKILL')
  subscriber.disconnect()
  redis.disconnect()
  admin.disconnect()
  await stack.close()
  rmSync(dir, { recursive: true, force: true })
}
