// npm run bench: Tollgate against the least a proxy can do (two minimal references: undici, and
// node:http alone, each with a fixed pool of 50), against the least a proxy that governs calls
// must do (governing-floor.ts: the undici reference plus body and usage parsing, key, counts and
// a log line), and against Portkey's gateway,
// side by side on one fake provider; and Tollgate's policy path (issue 4): Redis limits and budgets
// with a cache miss on every call, leased (issue 14) and per call (lease fraction 0, the same code),
// a memory cache hit, and a Redis cache hit; then a contention run (three leasing sidecars against
// one requests-per-minute limit) that prints the over-admission. Prints added latency (p50/p99, one connection), requests/s
// (50 connections), added time to first token of a stream, idle and loaded RSS and time from exec
// to the first proxied answer, each also as a ratio to the reference. Bounded in count and time.
//   node hack/bench/proxy.ts [--rounds 5] [--per-round 300] [--seconds 10] [--ttft 150] [--only a,b]
//                            [--warm-up 3000] [--cpu-prof DIR]   (a V8 CPU profile of each Node target)
// Every target first serves the same warm-up (--warm-up calls at 50 connections, and a tenth as
// many streams), so that each is measured as it runs in steady state, its code optimised by V8,
// and not after the few calls that a cold start left it: the fake provider, which every target
// but the cache hits calls, would otherwise be the only warm process. Each measure runs in rounds
// that alternate the targets (--seconds and --ttft are totals split over the rounds), so a busy
// neighbour on a shared machine weighs on every target alike.
import { type ChildProcess, spawn } from 'node:child_process'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { compileTenantConfig } from '@tollgate/api/compile.ts'
import { DEFAULT_PRICES } from '@tollgate/api/prices.ts'
import { tenantAclUser } from '@tollgate/api/redis-acl.ts'
import { keys } from '@tollgate/api/redis-keys.ts'
import { signConfig } from '@tollgate/api/signed-config.ts'
import { DEFAULT_TIERS } from '@tollgate/api/tiers.ts'
import { Redis } from 'ioredis'
import { Client, Pool } from 'undici'
import { RedisPasswords } from '../../operator/src/redis/redis-passwords.ts'
import { TenantAclUsers } from '../../operator/src/redis/tenant-acl-users.ts'
import { freePort } from '../stack/process.ts'
import { startRedis } from '../stack/redis.ts'
import { startExchangeStandIn } from './exchange-stand-in.ts'

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    'per-round': { type: 'string', default: '300' },
    seconds: { type: 'string', default: '10' },
    ttft: { type: 'string', default: '150' },
    'warm-up': { type: 'string', default: '3000' },
    only: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
})
const ROUNDS = Number(args.rounds)
const PER_ROUND = Number(args['per-round'])
const SECONDS = Number(args.seconds)
const TTFT_RUNS = Number(args.ttft)
const WARM_UP = Number(args['warm-up'])
const CONNECTIONS = 50
const KEY = 'sk-bench-real-key'
const root = new URL('../../', import.meta.url).pathname

interface Target {
  name: string
  base: string
  path: string
  headers: Record<string, string>
  child?: ChildProcess
  readyMs?: number
  idleRss?: number
  loadedRss?: number
  latencies: number[]
  rps?: number
  /** Streams that did not answer 200 (their time to first token is not counted). */
  streamErrors?: number
  /** CPU time of the proxy process per call under load, in microseconds. */
  cpuPerCall?: number
  /** CPU time of the Redis server per call under load, in microseconds (targets that use Redis). */
  redisCpuPerCall?: number
  usesRedis?: boolean
  /** Calls completed under load. */
  calls?: number
  /** Redis commands under load, by command (a script counts as one). */
  redisCommands?: Map<string, { calls: number; usec: number }>
  errors: number
  ttft: number[]
  /** Every call asks something new (a cache miss each time). */
  unique?: boolean
  /** Calls sent, numbering the unique questions. */
  sent: number
}

/** target is a bench target with nothing measured yet. */
const target = (
  name: string,
  base: string,
  path: string,
  headers: Record<string, string>,
  extra: Partial<Target> = {},
): Target => ({ name, base, path, headers, latencies: [], sent: 0, errors: 0, ttft: [], ...extra })

/** Every Node process the bench starts shares one compile cache, warmed by a first start. */
const COMPILE_CACHE = join(tmpdir(), 'tollgate-bench-compile-cache')

/** cpuTicks is user + system CPU of a process in clock ticks (1/100 s). */
const cpuTicks = (pid: number | undefined): number => {
  if (!pid) return Number.NaN
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return Number(fields[11]) + Number(fields[12])
}

const rssMB = (pid: number | undefined): number => {
  if (!pid) return Number.NaN
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024
}

const chatBody = (stream: boolean, t?: Target) =>
  JSON.stringify({
    model: 'gpt-4o-mini',
    stream,
    messages: [
      {
        role: 'user',
        content: t?.unique ? `Say hello to the benchmark. ${t.sent++}` : 'Say hello to the benchmark.',
      },
    ],
  })

async function call(client: Client | Pool, t: Target, stream = false): Promise<number> {
  const { statusCode, body } = await client.request({
    path: t.path,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...t.headers },
    body: chatBody(stream, t),
  })
  await body.dump({ limit: 1 << 30 })
  return statusCode
}

async function startChild(t: Target, argv: string[], env: Record<string, string> = {}): Promise<void> {
  const childEnv = { ...process.env, NODE_COMPILE_CACHE: COMPILE_CACHE, ...env }
  // a first start fills the compile cache, as the image build or the previous start would have
  const warm = spawn(process.execPath, argv, { cwd: root, env: childEnv, stdio: 'ignore' })
  await untilAnswers(t, warm)
  warm.kill('SIGTERM')
  await once(warm, 'exit')
  const started = performance.now()
  // Portkey's gateway prints a stack trace for each stream it fails on (see the TTFT row)
  const stderr = t.name === 'portkey' ? 'ignore' : 'inherit'
  const profile = args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}/${t.name}`] : []
  t.child = spawn(process.execPath, [...profile, ...argv], {
    cwd: root,
    env: childEnv,
    stdio: ['ignore', 'ignore', stderr],
  })
  await untilAnswers(t, t.child)
  t.readyMs = performance.now() - started
  await new Promise((r) => setTimeout(r, 1000))
  t.idleRss = rssMB(t.child.pid)
}

/** untilAnswers polls every 5 ms until a chat completion through the target succeeds. */
async function untilAnswers(t: Target, child: ChildProcess): Promise<void> {
  const client = new Client(t.base)
  const deadline = performance.now() + 30_000
  for (;;) {
    try {
      if ((await call(client, t)) === 200) break
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline || child.exitCode !== null)
      throw new Error(`${t.name} did not get ready`)
    await new Promise((r) => setTimeout(r, 5))
  }
  await client.close()
}

/** warmUp sends a target `calls` calls at 50 connections and a tenth as many streams, unmeasured. */
async function warmUp(t: Target, calls: number): Promise<void> {
  const pool = new Pool(t.base, { connections: CONNECTIONS, pipelining: 1 })
  let left = calls
  const worker = async (stream: boolean) => {
    while (left-- > 0) await call(pool, t, stream).catch(() => 0)
  }
  await Promise.all(Array.from({ length: CONNECTIONS }, () => worker(false)))
  left = Math.ceil(calls / 10)
  await Promise.all(Array.from({ length: 5 }, () => worker(true)))
  await pool.close()
}

async function latencyRound(t: Target, n: number): Promise<void> {
  const client = new Client(t.base, { pipelining: 1 })
  for (let i = 0; i < 20; i++) await call(client, t)
  for (let i = 0; i < n; i++) {
    const start = performance.now()
    await call(client, t)
    t.latencies.push(performance.now() - start)
  }
  await client.close()
}

/**
 * throughput runs one slice of `seconds` at 50 connections after a warm-up of a quarter of it and
 * adds the calls, time and CPU ticks to the target's totals; slices of the targets alternate, so a
 * busy neighbour on a shared machine weighs on all of them alike.
 */
async function throughput(
  t: Target,
  seconds: number,
  totals: Map<Target, { calls: number; ms: number; ticks: number; redisTicks: number }>,
  redisPid: number | undefined,
  redis: Redis | undefined,
): Promise<void> {
  const pool = new Pool(t.base, { connections: CONNECTIONS, pipelining: 1 })
  let done = 0
  let measuring = false
  let stop = false
  const worker = async () => {
    while (!stop) {
      try {
        if ((await call(pool, t)) === 200 && measuring) done++
        else if (measuring) t.errors++
      } catch {
        if (measuring) t.errors++
      }
    }
  }
  const workers = Array.from({ length: CONNECTIONS }, worker)
  await new Promise((r) => setTimeout(r, seconds * 250))
  measuring = true
  const sampler = setInterval(() => {
    t.loadedRss = Math.max(t.loadedRss ?? 0, rssMB(t.child?.pid))
  }, 100)
  const start = performance.now()
  const ticks = cpuTicks(t.child?.pid)
  const redisTicks = t.usesRedis ? cpuTicks(redisPid) : 0
  const commandsBefore = t.usesRedis && redis ? await commandStats(redis) : undefined
  await new Promise((r) => setTimeout(r, seconds * 1000))
  if (commandsBefore && redis) {
    const after = await commandStats(redis)
    t.redisCommands ??= new Map()
    for (const [name, a] of after) {
      const b = commandsBefore.get(name) ?? { calls: 0, usec: 0 }
      const sum = t.redisCommands.get(name) ?? { calls: 0, usec: 0 }
      sum.calls += a.calls - b.calls
      sum.usec += a.usec - b.usec
      t.redisCommands.set(name, sum)
    }
  }
  const sum = totals.get(t) ?? { calls: 0, ms: 0, ticks: 0, redisTicks: 0 }
  sum.calls += done
  sum.ms += performance.now() - start
  sum.ticks += cpuTicks(t.child?.pid) - ticks
  if (t.usesRedis) sum.redisTicks += cpuTicks(redisPid) - redisTicks
  totals.set(t, sum)
  measuring = false
  stop = true
  clearInterval(sampler)
  await Promise.all(workers)
  await pool.close()
}

/**
 * measureManaged starts Tollgate the way it runs in a pod: credentials by exchange (a stand-in
 * for the operator's, exchange-stand-in.ts), config compiled and signed into a private Redis, no
 * file. It needs redis-server on PATH (npm test's bootstrap installs it) and is skipped without.
 */
async function measureManaged(fakeUrl: string, port: number, admin: number): Promise<Target | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-bench-redis-'))
  let redisService: Awaited<ReturnType<typeof startRedis>>
  try {
    redisService = await startRedis({ dir })
  } catch {
    process.stderr.write('no redis-server: managed mode not measured\n')
    return undefined
  }
  const redis = new Redis(redisService.url)
  try {
    const { config } = compileTenantConfig({
      tenant: {
        apiVersion: 'tollgate.dev/v1alpha1',
        kind: 'Tenant',
        metadata: { name: 'bench' },
        spec: { tier: 'unlimited', providers: [{ name: 'openai', type: 'openai', baseURL: fakeUrl }] },
      },
      policies: [],
      tiers: DEFAULT_TIERS,
      prices: DEFAULT_PRICES,
      version: 1,
    })
    const { privateKey } = generateKeyPairSync('ed25519')
    await redis.set(keys.config('bench'), signConfig(config, privateKey))
    // As the operator does: the tenant's Redis user, whose password the exchange hands out.
    const passwords = new RedisPasswords(randomBytes(32), 24 * 3_600_000)
    await new TenantAclUsers(() => [redis], passwords).ensure('bench')
    const exchange = await startExchangeStandIn({
      tenant: 'bench',
      signingKey: privateKey,
      providers: [{ name: 'openai', origin: new URL(fakeUrl).origin, apiKey: KEY }],
      redis: { username: tenantAclUser('bench'), password: passwords.current('bench', new Date()) },
    })
    const tokenFile = join(dir, 'token')
    await writeFile(tokenFile, 'bench-token')
    const t = target('tollgate-managed', `http://127.0.0.1:${port}`, '/openai/v1/chat/completions', {
      authorization: 'Bearer placeholder',
    })
    await startChild(t, [
      'sidecar/src/main.ts',
      '--redis',
      redisService.sidecarUrl,
      '--tenant',
      'bench',
      '--exchange-url',
      exchange.url,
      // =: a PEM starts with dashes, which parseArgs would take for a flag
      `--exchange-ca=${exchange.ca}`,
      '--token-file',
      tokenFile,
      '--listen',
      `127.0.0.1:${port}`,
      '--admin-listen',
      `127.0.0.1:${admin}`,
    ])
    t.child?.kill('SIGTERM')
    await exchange.close()
    return t
  } finally {
    redis.disconnect()
    await redisService.close()
  }
}

/** ttft streams `runs` completions one after another and keeps the time to the first body chunk. */
async function ttft(t: Target, runs: number): Promise<void> {
  const client = new Client(t.base)
  for (let i = 0; i < runs + 2; i++) {
    const start = performance.now()
    const { statusCode, body } = await client.request({
      path: t.path,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...t.headers },
      body: chatBody(true, t),
    })
    if (statusCode !== 200) {
      t.streamErrors = (t.streamErrors ?? 0) + 1
      await body.dump()
      continue
    }
    let first = 0
    body.once('data', () => {
      first = performance.now()
    })
    body.resume()
    await once(body, 'end')
    if (i >= 2) t.ttft.push(first - start)
  }
  await client.close()
}

const pct = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

/** ports are the listen flags of a sidecar on a port, with its admin on any free one. */
const ports = (port: number) => ['--listen', `127.0.0.1:${port}`, '--admin-listen', '127.0.0.1:0']

/** commandStats reads Redis's per-command call counts and time spent (INFO commandstats). */
async function commandStats(redis: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const stats = new Map<string, { calls: number; usec: number }>()
  for (const m of (await redis.info('commandstats')).matchAll(/cmdstat_(\S+):calls=(\d+),usec=(\d+)/g))
    stats.set(m[1] as string, { calls: Number(m[2]), usec: Number(m[3]) })
  return stats
}

/** pingP50 is the median round trip of a PING from this process to Redis. */
async function pingP50(url: string): Promise<number> {
  const client = new Redis(url)
  const times: number[] = []
  for (let i = 0; i < 2_200; i++) {
    const start = performance.now()
    await client.ping()
    if (i >= 200) times.push(performance.now() - start)
  }
  client.disconnect()
  return pct(times, 50)
}

interface Contention {
  sidecars: number
  connections: number
  limit: number
  admitted: number
  refused: number
}

/**
 * contention starts three sidecars leasing one requests-per-minute limit from the bench's Redis
 * and sends, over 20 connections each, half again the limit's calls; admitted (200) and refused
 * (429) calls are counted exactly. It waits for a fresh minute first, so that one window holds it.
 */
async function contention(fakeUrl: string, dir: string, redisUrl: string): Promise<Contention> {
  const limit = 3_000
  const sidecars = 3
  const connections = 20
  const file = join(dir, 'contention.yaml')
  writeFileSync(
    file,
    [
      'apiVersion: tollgate.dev/v1alpha1',
      'kind: Tenant',
      'metadata: { name: bench-contention }',
      'spec:',
      '  tier: unlimited',
      '  providers:',
      `    - { name: openai, type: openai, baseURL: "${fakeUrl}" }`,
      `  limits: { requestsPerMinute: ${limit} }`,
      '',
    ].join('\n'),
  )
  const targets = await Promise.all(
    Array.from({ length: sidecars }, async (_, i) => {
      const t = target(
        `contention-${i}`,
        `http://127.0.0.1:${await freePort()}`,
        '/openai/v1/chat/completions',
        {
          authorization: 'Bearer placeholder',
        },
      )
      const port = Number(new URL(t.base).port)
      return { t, argv: ['sidecar/src/main.ts', '--config', file, '--redis', redisUrl, ...ports(port)] }
    }),
  )
  const into = Date.now() % 60_000
  if (into > 40_000) await new Promise((r) => setTimeout(r, 60_000 - into + 100))
  const children = targets.map(({ argv }) =>
    spawn(process.execPath, argv, {
      cwd: root,
      env: { ...process.env, OPENAI_API_KEY: KEY },
      stdio: 'ignore',
    }),
  )
  try {
    // the first answer of each is a call like the others: counted
    let admitted = 0
    let refused = 0
    const count = (status: number) => {
      if (status === 200) admitted++
      else if (status === 429) refused++
    }
    await Promise.all(targets.map(({ t }, i) => untilUp(t, children[i] as ChildProcess, count)))
    let budget = Math.ceil(limit * 1.5) - admitted - refused
    await Promise.all(
      targets.map(async ({ t }) => {
        const pool = new Pool(t.base, { connections, pipelining: 1 })
        await Promise.all(
          Array.from({ length: connections }, async () => {
            while (budget-- > 0) count(await call(pool, t).catch(() => 0))
          }),
        )
        await pool.close()
      }),
    )
    return { sidecars, connections, limit, admitted, refused }
  } finally {
    const exits = children.map((c) => (c.exitCode === null ? once(c, 'exit') : Promise.resolve()))
    for (const c of children) c.kill('SIGTERM')
    await Promise.all(exits)
  }
}

/** untilUp waits for a sidecar to answer, counting every answer (a 200 or a 429 is counted). */
async function untilUp(t: Target, child: ChildProcess, count: (status: number) => void): Promise<void> {
  const client = new Client(t.base)
  const deadline = performance.now() + 30_000
  for (;;) {
    const status = await call(client, t).catch(() => 0)
    if (status !== 0) {
      count(status)
      break
    }
    if (performance.now() > deadline || child.exitCode !== null)
      throw new Error(`${t.name} did not get ready`)
    await new Promise((r) => setTimeout(r, 20))
  }
  await client.close()
}

async function main() {
  const fake = spawn(process.execPath, ['test/fake-provider/main.ts', '--port', '0'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const fakeUrl = await new Promise<string>((resolve, reject) => {
    fake.stdout?.on('data', (d: Buffer) => {
      const m = /listening on (http\S+)/.exec(d.toString())
      if (m?.[1]) resolve(m[1])
    })
    fake.once('exit', () => reject(new Error('fake provider exited')))
  })

  const dir = await mkdtemp(join(tmpdir(), 'tollgate-bench-'))
  const tenantYaml = (name: string, spec: string[] = [], extra: string[] = []) =>
    [
      'apiVersion: tollgate.dev/v1alpha1',
      'kind: Tenant',
      `metadata: { name: ${name} }`,
      'spec:',
      '  tier: unlimited',
      '  providers:',
      `    - { name: openai, type: openai, baseURL: "${fakeUrl}" }`,
      ...spec.map((line) => `  ${line}`),
      ...extra,
      '',
    ].join('\n')
  const config = join(dir, 'bench.yaml')
  writeFileSync(config, tenantYaml('bench'))
  // The full policy path: tenant-wide limits, a policy limit on the model, two budgets (every one
  // a Redis counter checked and charged per call) and the cache on, asked something new each time.
  const policyConfig = join(dir, 'policy.yaml')
  writeFileSync(
    policyConfig,
    tenantYaml(
      'bench-policy',
      [
        'limits: { requestsPerMinute: 1000000000, tokensPerMinute: 1000000000, tokensPerDay: 1000000000, concurrency: 10000 }',
        'budgets:',
        '  - { period: day, limitUSD: "1000000", timezone: Europe/Berlin }',
        '  - { period: month, limitUSD: "1000000" }',
        'cache: { enabled: true, ttl: 1h }',
      ],
      [
        '---',
        'apiVersion: tollgate.dev/v1alpha1',
        'kind: RateLimitPolicy',
        'metadata: { name: bench-models }',
        'spec:',
        '  targetRefs: [{ kind: Tenant, name: bench-policy }]',
        '  limits:',
        '    - { name: mini, match: { models: ["gpt-4o-mini*"] }, requestsPerMinute: 1000000000, tokensPerMinute: 1000000000 }',
      ],
    ),
  )
  const cacheConfig = join(dir, 'cache.yaml')
  writeFileSync(cacheConfig, tenantYaml('bench-cache', ['cache: { enabled: true, ttl: 1h }']))
  const [refPort, tgPort, tgAdmin, pkPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ]
  const [policyPort, memPort, redisHitPort] = [await freePort(), await freePort(), await freePort()]
  const [refHttpPort, perCallPort, floorPort] = [await freePort(), await freePort(), await freePort()]
  const placeholder = { authorization: 'Bearer placeholder' }
  const tollgatePath = '/openai/v1/chat/completions'
  const auth = { authorization: `Bearer ${KEY}` }
  const targets: Target[] = [
    target('direct', fakeUrl, '/v1/chat/completions', auth),
    target('reference', `http://127.0.0.1:${refPort}`, '/v1/chat/completions', auth),
    target('ref-node-http', `http://127.0.0.1:${refHttpPort}`, '/v1/chat/completions', auth),
    target('floor', `http://127.0.0.1:${floorPort}`, '/v1/chat/completions', placeholder),
    target('tollgate', `http://127.0.0.1:${tgPort}`, tollgatePath, placeholder),
    target('portkey', `http://127.0.0.1:${pkPort}`, '/v1/chat/completions', {
      ...auth,
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': `${fakeUrl}/v1`,
    }),
    target('tg-policy', `http://127.0.0.1:${policyPort}`, tollgatePath, placeholder, {
      usesRedis: true,
      unique: true,
    }),
    target('tg-per-call', `http://127.0.0.1:${perCallPort}`, tollgatePath, placeholder, {
      usesRedis: true,
      unique: true,
    }),
    target('tg-hit-memory', `http://127.0.0.1:${memPort}`, tollgatePath, placeholder),
    target('tg-hit-redis', `http://127.0.0.1:${redisHitPort}`, tollgatePath, placeholder, {
      usesRedis: true,
    }),
  ].filter((t) => t.name === 'direct' || !args.only || args.only.split(',').includes(t.name))

  const byName = (name: string) => targets.find((t) => t.name === name)
  let managed: Target | undefined
  const needsRedis = targets.some((t) => ['tg-policy', 'tg-per-call', 'tg-hit-redis'].includes(t.name))
  const redisService = needsRedis ? await startRedis({ dir: join(dir, 'redis') }) : undefined
  let redisPingP50: number | undefined
  let contended: Contention | undefined
  try {
    for (const t of targets) {
      if (t.name === 'reference')
        await startChild(t, ['hack/bench/reference-proxy.ts', fakeUrl, String(refPort)])
      if (t.name === 'ref-node-http')
        await startChild(t, ['hack/bench/reference-http-proxy.ts', fakeUrl, String(refHttpPort)])
      if (t.name === 'floor')
        await startChild(t, ['hack/bench/governing-floor.ts', fakeUrl, String(floorPort)], {
          OPENAI_API_KEY: KEY,
        })
      if (t.name === 'tollgate')
        await startChild(
          t,
          [
            'sidecar/src/main.ts',
            '--config',
            config,
            '--listen',
            `127.0.0.1:${tgPort}`,
            '--admin-listen',
            `127.0.0.1:${tgAdmin}`,
          ],
          { OPENAI_API_KEY: KEY },
        )
      if (t.name === 'tg-policy')
        await startChild(
          t,
          [
            'sidecar/src/main.ts',
            '--config',
            policyConfig,
            '--redis',
            redisService?.url as string,
            ...ports(policyPort),
          ],
          { OPENAI_API_KEY: KEY },
        )
      if (t.name === 'tg-per-call')
        await startChild(
          t,
          [
            'sidecar/src/main.ts',
            '--config',
            policyConfig,
            '--redis',
            redisService?.url as string,
            '--lease-fraction',
            '0',
            ...ports(perCallPort),
          ],
          { OPENAI_API_KEY: KEY },
        )
      if (t.name === 'tg-hit-memory')
        await startChild(t, ['sidecar/src/main.ts', '--config', cacheConfig, ...ports(memPort)], {
          OPENAI_API_KEY: KEY,
        })
      if (t.name === 'tg-hit-redis')
        await startChild(
          t,
          [
            'sidecar/src/main.ts',
            '--config',
            cacheConfig,
            '--redis',
            redisService?.url as string,
            '--cache-memory-bytes',
            '0',
            ...ports(redisHitPort),
          ],
          { OPENAI_API_KEY: KEY },
        )
      if (t.name === 'portkey')
        await startChild(t, [
          'node_modules/@portkey-ai/gateway/build/start-server.js',
          `--port=${pkPort}`,
          '--headless',
        ])
      process.stderr.write(`${t.name} ready\n`)
    }
    for (const t of targets) await warmUp(t, WARM_UP)
    process.stderr.write('warm-up done\n')
    for (let r = 0; r < ROUNDS; r++) for (const t of targets) await latencyRound(t, PER_ROUND)
    process.stderr.write('latency done\n')
    for (let r = 0; r < ROUNDS; r++) for (const t of targets) await ttft(t, Math.ceil(TTFT_RUNS / ROUNDS))
    process.stderr.write('ttft done\n')
    const totals = new Map<Target, { calls: number; ms: number; ticks: number; redisTicks: number }>()
    const stats = redisService && new Redis(redisService.adminUrl) // server-wide INFO
    const redisPid = redisService?.pids()[0]
    for (let r = 0; r < ROUNDS; r++)
      for (const t of targets) await throughput(t, SECONDS / ROUNDS, totals, redisPid, stats)
    stats?.disconnect()
    for (const [t, sum] of totals) {
      t.calls = sum.calls
      t.rps = sum.calls / (sum.ms / 1000)
      t.cpuPerCall = (sum.ticks * 10_000) / sum.calls
      if (t.usesRedis) t.redisCpuPerCall = (sum.redisTicks * 10_000) / sum.calls
    }
    process.stderr.write('throughput done\n')
    if (byName('tollgate')) managed = await measureManaged(fakeUrl, await freePort(), await freePort())
    if (redisService) redisPingP50 = await pingP50(redisService.url)
    if (redisService && byName('tg-policy')) contended = await contention(fakeUrl, dir, redisService.url)
  } finally {
    const exits = targets.flatMap((t) =>
      t.child && t.child.exitCode === null ? [once(t.child, 'exit')] : [],
    )
    for (const t of targets) t.child?.kill('SIGTERM')
    fake.kill('SIGTERM')
    await Promise.all(exits)
    await redisService?.close()
  }

  const direct = byName('direct') as Target
  const ref = byName('reference')
  const added = (t: Target, p: number) => pct(t.latencies, p) - pct(direct.latencies, p)
  const addedTtft = (t: Target) => pct(t.ttft, 50) - pct(direct.ttft, 50)
  const ratio = (x: number, y: number | undefined) =>
    y === undefined || !Number.isFinite(x / y) ? '' : ` (${(x / y).toFixed(2)}x)`
  const rows: [string, (t: Target) => string][] = [
    ['p50 latency, 1 conn (ms)', (t) => pct(t.latencies, 50).toFixed(3)],
    [
      'added p50 (ms)',
      (t) => (t === direct ? '-' : `${added(t, 50).toFixed(3)}${ratio(added(t, 50), ref && added(ref, 50))}`),
    ],
    [
      'added p99 (ms)',
      (t) => (t === direct ? '-' : `${added(t, 99).toFixed(3)}${ratio(added(t, 99), ref && added(ref, 99))}`),
    ],
    [`req/s, ${CONNECTIONS} conns`, (t) => `${(t.rps ?? 0).toFixed(0)}${ratio(t.rps ?? 0, ref?.rps)}`],
    ['errors under load', (t) => String(t.errors)],
    [
      'proxy CPU per call (us)',
      (t) =>
        t.child ? `${(t.cpuPerCall ?? 0).toFixed(0)}${ratio(t.cpuPerCall ?? 0, ref?.cpuPerCall)}` : '-',
    ],
    ['Redis CPU per call (us)', (t) => (t.usesRedis ? (t.redisCpuPerCall ?? 0).toFixed(0) : '-')],
    [
      'added TTFT p50 (ms)',
      (t) =>
        t.ttft.length === 0
          ? `n/a (${t.streamErrors} failed)`
          : t === direct
            ? `${pct(t.ttft, 50).toFixed(3)} abs`
            : `${addedTtft(t).toFixed(3)}${ratio(addedTtft(t), ref && addedTtft(ref))}`,
    ],
    [
      'idle RSS (MB)',
      (t) => (t.child ? `${t.idleRss?.toFixed(1)}${ratio(t.idleRss ?? 0, ref?.idleRss)}` : '-'),
    ],
    [
      'loaded RSS (MB)',
      (t) => (t.child ? `${t.loadedRss?.toFixed(1)}${ratio(t.loadedRss ?? 0, ref?.loadedRss)}` : '-'),
    ],
    [
      'exec to ready (ms)',
      (t) => (t.child ? `${t.readyMs?.toFixed(0)}${ratio(t.readyMs ?? 0, ref?.readyMs)}` : '-'),
    ],
  ]
  const width = 26
  const col = 17
  console.log(
    `\nNode ${process.version}, ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(
        ' ',
      )}; each target warmed with ${WARM_UP} calls; ${ROUNDS}x${PER_ROUND} sequential calls, ${SECONDS}s at ${CONNECTIONS} connections, ${TTFT_RUNS} streams\n`,
  )
  console.log(''.padEnd(width) + targets.map((t) => t.name.padStart(col)).join(''))
  for (const [label, cell] of rows)
    console.log(label.padEnd(width) + targets.map((t) => cell(t).padStart(col)).join(''))
  if (managed)
    console.log(
      `\ntollgate in managed mode (config from Redis, no file to validate): exec to ready ${managed.readyMs?.toFixed(0)} ms, idle RSS ${managed.idleRss?.toFixed(1)} MB`,
    )
  for (const t of targets) {
    if (!t.redisCommands || !t.calls) continue
    const calls = t.calls
    const commands = [...t.redisCommands]
      .filter(([name, c]) => name !== 'info' && c.calls > 0)
      .sort((a, b) => b[1].calls - a[1].calls)
      .map(
        ([name, c]) => `${name} ${(c.calls / calls).toFixed(2)} (${(c.usec / c.calls).toFixed(1)} us each)`,
      )
    console.log(
      `\n${t.name}: Redis commands per call under load (those its scripts run included): ${commands.join(', ')}`,
    )
  }
  const tg = byName('tollgate')
  const pk = byName('portkey')
  if (tg && ref) {
    console.log('\nGoals (issue 3):')
    const goal = (name: string, ok: boolean, detail: string) =>
      console.log(`  ${ok ? 'PASS' : 'MISS'}  ${name}: ${detail}`)
    goal(
      'added p50 <= 1.2x reference',
      added(tg, 50) <= 1.2 * added(ref, 50),
      `${(added(tg, 50) / added(ref, 50)).toFixed(2)}x`,
    )
    if (pk)
      goal(
        'added p50 < 0.25x portkey',
        added(tg, 50) < 0.25 * added(pk, 50),
        `${(added(tg, 50) / added(pk, 50)).toFixed(2)}x`,
      )
    goal(
      'throughput >= 0.9x reference',
      (tg.rps ?? 0) >= 0.9 * (ref.rps ?? 0),
      `${((tg.rps ?? 0) / (ref.rps ?? 1)).toFixed(2)}x`,
    )
    goal(
      'added TTFT <= 1.2x reference',
      addedTtft(tg) <= 1.2 * addedTtft(ref),
      `${(addedTtft(tg) / addedTtft(ref)).toFixed(2)}x`,
    )
    goal('idle RSS < 60 MB', (tg.idleRss ?? 0) < 60, `${tg.idleRss?.toFixed(1)} MB`)
    goal('ready < 300 ms', (tg.readyMs ?? 0) < 300, `${tg.readyMs?.toFixed(0)} ms`)
  }
  const policy = byName('tg-policy')
  const perCall = byName('tg-per-call')
  const refHttp = byName('ref-node-http')
  if (contended) {
    const { admitted, limit, sidecars, connections, refused } = contended
    console.log(
      `\ncontention: ${sidecars} leasing sidecars × ${connections} connections against requestsPerMinute ${limit}: ` +
        `admitted ${admitted}, refused ${refused}; over-admission ${Math.max(0, admitted - limit)} ` +
        `(${((100 * Math.max(0, admitted - limit)) / limit).toFixed(2)}% of the limit; stated bound: 0 within a window, ` +
        `${Math.floor(limit * 0.02)} after a limit change), held back ${Math.max(0, limit - admitted)}`,
    )
  }
  if (ref) {
    console.log('\nGoals (issue 14), as ratios in this run:')
    const goal = (name: string, ok: boolean, detail: string) =>
      console.log(`  ${ok ? 'PASS' : 'MISS'}  ${name}: ${detail}`)
    const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`
    if (refHttp)
      console.log(
        `  (check of the reference: node:http reference at ${x(refHttp.rps ?? 0, ref.rps ?? 1)} the undici one's req/s, ` +
          `${x(added(refHttp, 50), added(ref, 50))} its added p50)`,
      )
    const floor = byName('floor')
    const plain = byName('tollgate')
    if (floor)
      console.log(
        `  (the governing floor, governing-floor.ts: ${x(floor.rps ?? 0, ref.rps ?? 1)} the reference's req/s, ` +
          `${x(added(floor, 50), added(ref, 50))} its added p50, ${x(addedTtft(floor), addedTtft(ref))} its added TTFT, ` +
          `${(floor.cpuPerCall ?? 0).toFixed(0)} µs CPU per call` +
          `${plain ? `; Tollgate's plain path at ${x(plain.rps ?? 0, floor.rps ?? 1)} the floor's req/s, ${(plain.cpuPerCall ?? 0).toFixed(0)} µs CPU per call` : ''})`,
      )
    if (tg) {
      goal(
        'plain path throughput >= 0.9x reference',
        (tg.rps ?? 0) >= 0.9 * (ref.rps ?? 0),
        x(tg.rps ?? 0, ref.rps ?? 1),
      )
      goal(
        'plain path added p50 <= 1.2x reference',
        added(tg, 50) <= 1.2 * added(ref, 50),
        x(added(tg, 50), added(ref, 50)),
      )
      goal(
        'plain path added TTFT <= 1.2x reference',
        addedTtft(tg) <= 1.2 * addedTtft(ref),
        x(addedTtft(tg), addedTtft(ref)),
      )
      goal(
        'idle RSS within 5 MB of the reference',
        (tg.idleRss ?? 0) <= (ref.idleRss ?? 0) + 5,
        `${tg.idleRss?.toFixed(1)} vs ${ref.idleRss?.toFixed(1)} MB`,
      )
    }
    if (policy) {
      goal(
        'leased policy path throughput >= 0.75x reference',
        (policy.rps ?? 0) >= 0.75 * (ref.rps ?? 0),
        `${x(policy.rps ?? 0, ref.rps ?? 1)}${perCall ? ` (per call: ${x(perCall.rps ?? 0, ref.rps ?? 1)})` : ''}`,
      )
      goal(
        'leased policy path added p50 <= 1.3x reference',
        added(policy, 50) <= 1.3 * added(ref, 50),
        `${x(added(policy, 50), added(ref, 50))}${perCall ? ` (per call: ${x(added(perCall, 50), added(ref, 50))})` : ''}`,
      )
    }
    const hit = byName('tg-hit-memory')
    if (hit)
      goal(
        'memory cache hit p50 <= 1.2x a direct call',
        pct(hit.latencies, 50) <= 1.2 * pct(direct.latencies, 50),
        x(pct(hit.latencies, 50), pct(direct.latencies, 50)),
      )
  }
  const hitMemory = byName('tg-hit-memory')
  const hitRedis = byName('tg-hit-redis')
  if (policy || hitMemory || hitRedis) {
    console.log('\nGoals (issue 4):')
    const goal = (name: string, ok: boolean, detail: string) =>
      console.log(`  ${ok ? 'PASS' : 'MISS'}  ${name}: ${detail}`)
    if (policy && ref) {
      goal(
        'policy path (Redis limits, cache miss) added p50 <= 1.5x reference',
        added(policy, 50) <= 1.5 * added(ref, 50),
        `${(added(policy, 50) / added(ref, 50)).toFixed(2)}x (${added(policy, 50).toFixed(3)} ms)`,
      )
      goal(
        'policy path throughput >= 0.75x reference',
        (policy.rps ?? 0) >= 0.75 * (ref.rps ?? 0),
        `${((policy.rps ?? 0) / (ref.rps ?? 1)).toFixed(2)}x`,
      )
    }
    if (hitMemory)
      goal(
        'memory cache hit p50 <= 1.2x a direct call',
        pct(hitMemory.latencies, 50) <= 1.2 * pct(direct.latencies, 50),
        `${(pct(hitMemory.latencies, 50) / pct(direct.latencies, 50)).toFixed(2)}x (${pct(hitMemory.latencies, 50).toFixed(3)} vs ${pct(direct.latencies, 50).toFixed(3)} ms)`,
      )
    if (hitMemory && hitRedis && redisPingP50 !== undefined) {
      const extra = pct(hitRedis.latencies, 50) - pct(hitMemory.latencies, 50)
      goal(
        'Redis cache hit p50 <= memory hit p50 + one Redis round trip',
        extra <= redisPingP50,
        `+${extra.toFixed(3)} ms, a PING round trip is ${redisPingP50.toFixed(3)} ms`,
      )
    }
  }
}

await main()
