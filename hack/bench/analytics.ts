// The analytics figure of `npm run bench:operator`: a month of hourly ledger rows for 1,000
// tenants (two models, two workloads and a user each hour: 4 series), then the queries of the
// console's tenant page (tenantReport: totals, daily series, by provider, model, namespace,
// workload, top users, refusals, heartbeats) and of the overview (every tenant's day). Prints
// figures; asserts nothing. Run alone with `node hack/bench/analytics.ts` (a private stack).
import pg from 'pg'
import { pino } from 'pino'
import { AnalyticsStore } from '../../operator/src/analytics/analytics-store.ts'
import { LiveState } from '../../operator/src/analytics/live-state.ts'
import { RefusalStore } from '../../operator/src/analytics/refusal-store.ts'
import { tenantReport } from '../../operator/src/analytics/tenant-report.ts'
import { connectRedis } from '../../operator/src/redis/redis-client.ts'
import { Db } from '../../operator/src/store/db.ts'
import { migrate } from '../../operator/src/store/migrate.ts'

const TENANTS = 1_000
const HOURS = 30 * 24

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number
}

/** benchAnalytics fills the ledger of `databaseUrl` and prints how long the console's queries take. */
export async function benchAnalytics(databaseUrl: string, redisUrl: string): Promise<void> {
  const logger = pino({ level: 'warn' })
  await migrate({ url: databaseUrl, direction: 'up', logger })
  const db = new Db({ url: databaseUrl, logger })
  const redis = connectRedis(redisUrl, 'single')
  try {
    const end = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000)
    const start = new Date(end.getTime() - HOURS * 3_600_000)
    console.error(
      `bench: writing ${TENANTS * HOURS * 4} ledger rows (${TENANTS} tenants × ${HOURS} hours × 4 series)`,
    )
    const filled = performance.now()
    // one plain connection without the operator pool's 30 s statement deadline
    const loader = new pg.Client({ connectionString: databaseUrl })
    await loader.connect()
    for (let t = 0; t < TENANTS; t += 25) {
      await loader.query(
        `INSERT INTO usage_hourly (tenant, hour, provider, model, namespace, workload, end_user,
           requests, input_tokens, output_tokens, cost_nano, cache_hits, cache_saved_nano, errors)
         SELECT 'analytics-' || t, h, 'openai', m, 'ns-' || t, w, 'user-' || (extract(hour FROM h)::int % 7),
           10 + (t + extract(hour FROM h)::int) % 5, 1000, 400, 150000 + t, 1, 15000, 0
         FROM generate_series($1::int, $2::int) t,
              generate_series($3::timestamptz, $4::timestamptz - interval '1 hour', interval '1 hour') h,
              unnest(ARRAY['gpt-4o', 'gpt-4o-mini']) m,
              unnest(ARRAY['deployment/api', 'cronjob/batch']) w
         ON CONFLICT DO NOTHING`,
        [t, Math.min(t + 24, TENANTS - 1), start, end],
      )
    }
    await loader.query('ANALYZE usage_hourly')
    await loader.end()
    console.error(`bench: ledger written in ${((performance.now() - filled) / 1000).toFixed(0)} s`)
    const sources = {
      analytics: new AnalyticsStore(db),
      refusals: new RefusalStore(db),
      live: new LiveState(redis),
    }
    const measure = async (run: (t: number) => Promise<unknown>) => {
      const times: number[] = []
      for (let i = 0; i < 50; i++) {
        const t = (i * 37) % TENANTS
        const started = performance.now()
        await run(t)
        times.push(performance.now() - started)
      }
      return `p50 ${percentile(times, 50).toFixed(0)} ms, p99 ${percentile(times, 99).toFixed(0)} ms`
    }
    const month = await measure((t) => tenantReport(sources, `analytics-${t}`, start, end, 'day', 10))
    console.log(
      `analytics, tenant detail over a month (${TENANTS} tenants × ${HOURS} hourly rows × 4 series in the ledger; daily buckets, 5 breakdowns, top users, refusals, heartbeats): ${month} (target: under 200 ms)`,
    )
    const day = new Date(end.getTime() - 24 * 3_600_000)
    const hourly = await measure((t) => tenantReport(sources, `analytics-${t}`, day, end, 'hour', 10))
    console.log(`analytics, tenant detail over the last day (hourly buckets): ${hourly}`)
    const names = Array.from({ length: TENANTS }, (_, t) => `analytics-${t}`)
    const overview = await measure(() =>
      sources.analytics.grouped({ tenants: names, from: day, to: end }, 'tenant'),
    )
    console.log(`analytics, overview of ${TENANTS} tenants (their last day, one query): ${overview}`)
  } finally {
    redis.disconnect()
    await db.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { mkdtempSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const { startStack } = await import('../stack/stack.ts')
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-analytics-bench-'))
  const stack = await startStack({ dir })
  try {
    await benchAnalytics(stack.env.databaseUrl, stack.env.redisAdminUrl)
  } finally {
    await stack.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
