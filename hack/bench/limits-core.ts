// Figures for the enforcement core on its own (no HTTP): what one reserve, settle and cache
// lookup cost against a real Redis, next to a bare PING round trip. Run:
//   node hack/bench/limits-core.ts            (starts a private redis-server)
//   TOLLGATE_REDIS_URL=redis://... node hack/bench/limits-core.ts
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { API_VERSION, compileTenantConfig, DEFAULT_PRICES, DEFAULT_TIERS } from '@tollgate/api'
import { type CacheRequest, ResponseCache } from '../../sidecar/src/cache/response-cache.ts'
import type { Limiter, LimitRequest } from '../../sidecar/src/limits/limiter.ts'
import { MemoryLimiter } from '../../sidecar/src/limits/memory-limiter.ts'
import { RedisLimiter } from '../../sidecar/src/limits/redis-limiter.ts'
import { DataRedis } from '../../sidecar/src/resilience/redis-client.ts'
import { startRedis } from '../stack/redis.ts'

const N = 20_000
const CONCURRENCY = 64

const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'))
const own = process.env.TOLLGATE_REDIS_URL ? undefined : await startRedis({ dir })
const url = process.env.TOLLGATE_REDIS_URL ?? (own?.url as string)
const redis = new DataRedis({ url })
await redis.waitUntilUp(5_000)

const tenant = `bench-${Date.now()}`
const { config } = compileTenantConfig({
  tenant: {
    apiVersion: API_VERSION,
    kind: 'Tenant',
    metadata: { name: tenant },
    spec: {
      tier: 'enterprise',
      providers: [{ name: 'openai', type: 'openai' }],
      budgets: [
        { period: 'day', limitUSD: '1000000', timezone: 'Europe/Berlin' },
        { period: 'month', limitUSD: '1000000' },
      ],
    },
  },
  policies: [
    {
      apiVersion: API_VERSION,
      kind: 'RateLimitPolicy',
      metadata: { name: 'gpt4-limits' },
      spec: {
        targetRefs: [{ kind: 'Tenant', name: tenant }],
        limits: [
          {
            name: 'gpt4',
            match: { models: ['gpt-4o*'] },
            requestsPerMinute: 1e9,
            tokensPerMinute: 1e12,
            concurrency: 100_000,
          },
        ],
      },
    },
  ],
  tiers: {
    ...DEFAULT_TIERS,
    enterprise: { requestsPerMinute: 1e9, tokensPerMinute: 1e12, tokensPerDay: 1e14, concurrency: 100_000 },
  },
  prices: DEFAULT_PRICES,
  version: 1,
})
const request: LimitRequest = {
  tenant,
  provider: 'openai',
  model: 'gpt-4o',
  estimatedTokens: 1_200,
  estimatedCostNano: 12_000,
  config,
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`

async function sequential(name: string, fn: () => Promise<unknown>) {
  for (let i = 0; i < 1_000; i++) await fn()
  const times: number[] = []
  for (let i = 0; i < N; i++) {
    const t = performance.now()
    await fn()
    times.push(performance.now() - t)
  }
  times.sort((a, b) => a - b)
  console.log(
    `${name.padEnd(44)} p50 ${us(quantile(times, 0.5)).padStart(8)}  p99 ${us(quantile(times, 0.99)).padStart(8)}`,
  )
}

async function throughput(name: string, fn: () => Promise<unknown>) {
  let left = N
  const t = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) await fn()
    }),
  )
  console.log(
    `${name.padEnd(44)} ${Math.round(N / ((performance.now() - t) / 1000))} ops/s with ${CONCURRENCY} in flight`,
  )
}

const reserveSettle = (limiter: Limiter) => async () => {
  const r = await limiter.reserve(request)
  if (!r.ok) throw new Error(r.message)
  // as the quota stage does: nobody waits for a settlement (it goes out in the next batch)
  limiter.settle(r, { tokens: 900, costNano: 9_000 }).catch(() => {})
}

const cacheRequest: CacheRequest = {
  tenant,
  cache: { ...config.cache, enabled: true },
  provider: 'openai',
  method: 'POST',
  route: '/v1/chat/completions',
  headers: {},
  body: Buffer.from(
    JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(2_000) }] }),
  ),
  stream: false,
}
const writer = new ResponseCache({ redis: redis.client })
const miss = await writer.lookup(cacheRequest)
if (miss.status !== 'miss' || !miss.key) throw new Error('expected a miss')
await writer.store(miss.key, cacheRequest, {
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: { kind: 'buffer', data: Buffer.alloc(4_000, 97) },
})
const memoryHit = async () => {
  const r = await writer.lookup(cacheRequest)
  if (r.status !== 'hit') throw new Error('expected a hit')
}
const redisHit = async () => {
  const r = await new ResponseCache({ redis: redis.client }).lookup(cacheRequest)
  if (r.status !== 'hit' || r.source !== 'redis') throw new Error('expected a Redis hit')
}

const checks = (await new RedisLimiter({ redis: redis.client }).reserve(request)) as { checks: unknown[] }
console.log(
  `node ${process.version}, ${N} operations each; one request evaluates ${checks.checks.length} checks`,
)
await sequential('PING (one Redis round trip)', () => redis.client.ping())
await sequential(
  'RedisLimiter reserve + settle, leased',
  reserveSettle(new RedisLimiter({ redis: redis.client })),
)
await sequential(
  'RedisLimiter reserve + settle, per call (fraction 0: a lease call each)',
  reserveSettle(new RedisLimiter({ redis: redis.client, fraction: 0 })),
)
await sequential('MemoryLimiter reserve + settle', reserveSettle(new MemoryLimiter()))
await sequential('cache lookup, memory hit (2 KB body key)', memoryHit)
await sequential('cache lookup, Redis hit (4 KB entry)', redisHit)
await throughput('PING', () => redis.client.ping())
await throughput(
  'RedisLimiter reserve + settle, leased',
  reserveSettle(new RedisLimiter({ redis: redis.client })),
)
await throughput(
  'RedisLimiter reserve + settle, per call',
  reserveSettle(new RedisLimiter({ redis: redis.client, fraction: 0 })),
)

const stats = await redis.client.info('commandstats')
const perCall = /cmdstat_evalsha:.*usec_per_call=([\d.]+)/.exec(stats)?.[1]
console.log(`Redis server time per lease script call: ${perCall} µs`)
await redis.close()
await own?.close()
rmSync(dir, { recursive: true, force: true })
