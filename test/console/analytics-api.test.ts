import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { eventually, startTestOperator, uniqueName } from '../operator/support.ts'
import { kubectlOK } from '../support/kubectl.ts'
import { type Scenario, startScenario } from './scenario.ts'

// The analytics API against the real stack: the calls of the scenario (through a real sidecar,
// with the official SDKs) into the ledger, and every figure the API gives checked against the
// ledger's own rows in Postgres.

const stack = inject('stack')
let s: Scenario

beforeAll(async () => {
  s = await startScenario(stack, 'analytics')
}, 180_000)

afterAll(async () => {
  await s?.close()
})

const get = async (path: string, token?: string) => {
  const response = await fetch(`${s.consoleUrl}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  })
  // biome-ignore lint/suspicious/noExplicitAny: the API's JSON answers, read field by field below
  return { status: response.status, body: (await response.json()) as Record<string, any> }
}

interface Row {
  key: string
  cost: string
  requests: string
  input: string
  output: string
  hits: string
  saved: string
}
const byColumn = (column: string) =>
  s.ledger<Row>(
    `SELECT ${column} AS key, sum(cost_nano) AS cost, sum(requests) AS requests, sum(input_tokens) AS input,
            sum(output_tokens) AS output, sum(cache_hits) AS hits, sum(cache_saved_nano) AS saved
     FROM usage_hourly WHERE tenant = $1 GROUP BY 1 ORDER BY 1`,
    [s.tenant],
  )
const asGrouped = (rows: Row[]) =>
  rows.map((r) => ({ key: r.key, costNano: Number(r.cost), requests: Number(r.requests) }))
const pick = (rows: { key: string; costNano: number; requests: number }[]) =>
  rows
    .map(({ key, costNano, requests }) => ({ key, costNano, requests }))
    .sort((a, b) => a.key.localeCompare(b.key))

describe('the analytics API', () => {
  it('books the calls to the workload the webhook resolved through the ReplicaSet', async () => {
    expect(s.workload).toBe('deployment/chat')
    const rows = await byColumn('workload')
    expect(rows.map((r) => r.key)).toEqual(['deployment/chat'])
  })

  it('gives the totals, the series and the sums by model, namespace, workload and user that the ledger holds', async () => {
    const { status, body } = await get(
      `/api/v1/analytics/tenant?tenant=${s.tenant}&bucket=day`,
      s.tokens.reader,
    )
    expect(status).toBe(200)
    const [total] = await byColumn(`'all'`)
    expect(body.totals).toMatchObject({
      requests: Number(total?.requests),
      costNano: Number(total?.cost),
      inputTokens: Number(total?.input),
      outputTokens: Number(total?.output),
      cacheHits: Number(total?.hits),
      cacheSavedNano: Number(total?.saved),
    })
    expect(body.totals.cacheHitRate).toBeCloseTo(Number(total?.hits) / Number(total?.requests))
    expect(body.series).toHaveLength(1)
    expect(body.series[0].costNano).toBe(Number(total?.cost))
    for (const [dimension, column] of [
      ['model', 'model'],
      ['namespace', 'namespace'],
      ['workload', 'workload'],
      ['provider', 'provider'],
    ] as const)
      expect(pick(body.by[dimension]), dimension).toEqual(pick(asGrouped(await byColumn(column))))
    // users as the requests named them: OpenAI user, safety_identifier, Anthropic metadata.user_id
    const users = asGrouped(await byColumn('end_user')).filter((u) => u.key !== '')
    expect(users.map((u) => u.key).sort()).toEqual(['alice', 'bob', 'carol'])
    expect(pick(body.by.user)).toEqual(pick(users))
  })

  it('counts the cache hit and what it saved: what the call it answered had cost', async () => {
    const [alice] = await s.ledger<{ requests: number; hits: number; cost: string; saved: string }>(
      `SELECT sum(requests)::int AS requests, sum(cache_hits)::int AS hits, sum(cost_nano) AS cost,
              sum(cache_saved_nano) AS saved FROM usage_hourly WHERE tenant = $1 AND end_user = 'alice'`,
      [s.tenant],
    )
    expect(alice).toMatchObject({ requests: 2, hits: 1 })
    // the hit cost nothing; it saved what the first, identical call cost
    expect(Number(alice?.saved)).toBe(Number(alice?.cost))
    expect(Number(alice?.saved)).toBeGreaterThan(0)
  })

  it('names the limit that refused calls, as many times as the SDK saw a 429', async () => {
    expect(s.refused).toBe(1)
    const body = await eventually(async () => {
      const { body } = await get(`/api/v1/analytics/tenant?tenant=${s.tenant}`, s.tokens.reader)
      return body.refusals.byLimit.length > 0 && body
    })
    expect(body.refusals.byLimit).toEqual([
      { limit: expect.stringContaining('gpt4o-per-minute'), refusals: s.refused },
    ])
    expect(body.refusals.recent[0]).toMatchObject({
      status: 429,
      model: 'gpt-4o',
      workload: 'deployment/chat',
    })
    const [row] = await s.ledger<{ n: number }>('SELECT count(*)::int AS n FROM refusals WHERE tenant = $1', [
      s.tenant,
    ])
    expect(row?.n).toBe(s.refused)
  })

  it('reports the live sidecar from its heartbeat: config version, limiter, breakers', {
    timeout: 30_000,
  }, async () => {
    const [ledger] = await s.ledger<{ n: number }>(
      'SELECT sum(requests)::int AS n FROM usage_hourly WHERE tenant = $1',
      [s.tenant],
    )
    // a heartbeat every 5 s: the first one after the scenario's calls counts them all
    const body = await eventually(
      async () => {
        const { body } = await get(`/api/v1/analytics/tenant?tenant=${s.tenant}`, s.tokens.reader)
        return body.sidecars[0]?.calls === ledger?.n && body
      },
      15_000,
      'a heartbeat that counted the calls',
    )
    const status = JSON.parse(await kubectlOK(stack, ['get', 'tenant', s.tenant, '-o', 'json'])).status
    expect(body.sidecars).toEqual([
      expect.objectContaining({
        namespace: s.appNamespace,
        workload: 'deployment/chat',
        configVersion: status.configVersion,
        limits: 'redis',
        providerErrors: 0,
        breakers: {},
      }),
    ])
    expect(body.breakers).toEqual({})
  })

  it('answers hourly series per model and the top spenders among the caller’s tenants', async () => {
    const series = await get(
      `/api/v1/analytics/series?tenant=${s.tenant}&by=model&bucket=hour`,
      s.tokens.reader,
    )
    expect(series.status).toBe(200)
    const models = asGrouped(await byColumn('model'))
    expect(
      pick(
        Object.values(
          (series.body.points as { key: string; costNano: number; requests: number }[]).reduce<
            Record<string, { key: string; costNano: number; requests: number }>
          >((acc, p) => {
            const a = acc[p.key] ?? { key: p.key, costNano: 0, requests: 0 }
            a.costNano += p.costNano
            a.requests += p.requests
            acc[p.key] = a
            return acc
          }, {}),
        ),
      ),
    ).toEqual(pick(models))
    const top = await get('/api/v1/analytics/top?by=model&top=1', s.tokens.reader)
    const [largest] = [...models].sort((a, b) => b.costNano - a.costNano)
    expect(top.body.rows).toEqual([
      expect.objectContaining({ key: largest?.key, costNano: largest?.costNano }),
    ])
    // the outsider may read only the other tenant, which made no calls
    const outsider = await get('/api/v1/analytics/top?by=tenant', s.tokens.outsider)
    expect(outsider.body.rows).toEqual([])
  })

  it('lists only the tenants the caller may get', async () => {
    const reader = await get('/api/v1/analytics/tenants', s.tokens.reader)
    expect(reader.body.tenants.map((t: { name: string }) => t.name)).toEqual([s.tenant])
    const outsider = await get('/api/v1/analytics/tenants', s.tokens.outsider)
    expect(outsider.body.tenants.map((t: { name: string }) => t.name)).toEqual([s.other])
  })

  it('refuses without a token (401), for another tenant (403), and bad input with a message (400)', async () => {
    expect((await get(`/api/v1/analytics/tenant?tenant=${s.tenant}`)).status).toBe(401)
    const forbidden = await get(`/api/v1/analytics/tenant?tenant=${s.tenant}`, s.tokens.outsider)
    expect(forbidden.status).toBe(403)
    expect(forbidden.body.error.message).toContain(`tenants/${s.tenant}`)
    for (const [query, message] of [
      ['bucket=week', 'bucket is hour, day or month'],
      ['by=colour', 'by is one of'],
      ['top=0', 'top is an integer'],
      ['from=yesterday', 'invalid from'],
      ['from=2026-01-01&to=2026-03-01&bucket=hour', 'hourly buckets cover at most'],
    ])
      expect(
        (await get(`/api/v1/analytics/tenant?tenant=${s.tenant}&${query}`, s.tokens.reader)).body.error
          .message,
      ).toContain(message)
    expect((await get('/api/v1/analytics/tenant', s.tokens.reader)).status).toBe(400)
  })

  it('is also served on the metrics port, like the usage API', async () => {
    const response = await fetch(
      `${s.operator.operator.metricsUrl}/api/v1/analytics/tenant?tenant=${s.tenant}`,
      {
        headers: { authorization: `Bearer ${s.tokens.reader}` },
      },
    )
    expect(response.status).toBe(200)
  })

  it('shows provider errors by provider and the breaker they opened, from the ledger and the heartbeat', {
    timeout: 60_000,
  }, async () => {
    s.fake.behave({ fail: 503 })
    try {
      for (let i = 0; i < 3; i++)
        await s.anthropic.messages
          .create({
            model: 'claude-3-5-haiku-latest',
            max_tokens: 16,
            messages: [{ role: 'user', content: `fail ${i}` }],
          })
          .catch(() => {})
    } finally {
      s.fake.behave({})
    }
    await s.sidecar.usage.flush()
    const body = await eventually(
      async () => {
        const { body } = await get(`/api/v1/analytics/tenant?tenant=${s.tenant}`, s.tokens.reader)
        return (
          body.breakers['anthropic/claude-3-5-haiku-latest'] === 'open' &&
          body.sidecars[0]?.providerErrors >= 2 &&
          body
        )
      },
      20_000,
      'the open breaker in a heartbeat',
    )
    expect(body.sidecars[0].breakers).toEqual({ 'anthropic/claude-3-5-haiku-latest': 'open' })
    const [errors] = await s.ledger<{ n: number }>(
      `SELECT sum(errors)::int AS n FROM usage_hourly WHERE tenant = $1 AND provider = 'anthropic'`,
      [s.tenant],
    )
    const { body: later } = await get(`/api/v1/analytics/tenant?tenant=${s.tenant}`, s.tokens.reader)
    expect(later.by.provider.find((p: { key: string }) => p.key === 'anthropic').errors).toBe(errors?.n)
    expect(errors?.n).toBe(3)
  })

  it('answers 503 with the ledger’s error code when Postgres cannot be reached, without hanging', async () => {
    const id = uniqueName('analytics-nodb')
    const operator = await startTestOperator({
      kubeconfig: stack.kubeconfig,
      redisUrl: stack.redisUrl,
      // a port nothing listens on
      databaseUrl: 'postgres://postgres@127.0.0.1:9/none',
      selector: `tollgate.dev/test=${id}`,
      leaseName: id,
      console: {},
    })
    try {
      const response = await fetch(
        `${operator.operator.consoleUrl}/api/v1/analytics/tenant?tenant=${s.tenant}`,
        {
          headers: { authorization: `Bearer ${s.tokens.reader}` },
        },
      )
      expect(response.status).toBe(503)
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
        'TOLLGATE_ERR_DATABASE_UNAVAILABLE',
      )
    } finally {
      await operator.stop()
    }
  })
})
