import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createDatabase } from '../support/postgres.ts'
import { serviceAccountToken } from '../support/service-account-token.ts'
import { startTestOperator, uniqueName } from './support.ts'

// The operator's HTTP surfaces answer only callers the API server vouches for: the attack of issue
// 11 was anyone reading every tenant's ledger from the usage API. Every token here is a real
// ServiceAccount token; TokenReview and SubjectAccessReview are the real API server's.
const stack = inject('stack')
const run = uniqueName('httpauth')
let operator: Awaited<ReturnType<typeof startTestOperator>>
const tokens: Record<string, string> = {}

beforeAll(async () => {
  operator = await startTestOperator({
    kubeconfig: stack.kubeconfig,
    redisUrl: stack.redisUrl,
    databaseUrl: await createDatabase(stack.databaseUrl, 'httpauth'),
    selector: `tollgate.dev/test=${run}`,
    leaseName: run,
  })
  tokens.none = await serviceAccountToken(stack, `${run}-nobody`, [])
  tokens.acme = await serviceAccountToken(stack, `${run}-acme`, [
    { apiGroups: ['tollgate.dev'], resources: ['tenants'], resourceNames: ['acme'], verbs: ['get'] },
  ])
  tokens.listOnly = await serviceAccountToken(stack, `${run}-lister`, [
    { apiGroups: ['tollgate.dev'], resources: ['tenants'], verbs: ['list'] },
  ])
  tokens.metrics = await serviceAccountToken(stack, `${run}-prometheus`, [
    { nonResourceURLs: ['/metrics'], verbs: ['get'] },
  ])
}, 90_000)

afterAll(async () => {
  await operator?.stop()
})

const get = async (path: string, token?: string) => {
  const res = await fetch(`${operator.operator.metricsUrl}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  })
  const text = await res.text()
  return { status: res.status, text, authenticate: res.headers.get('www-authenticate') }
}

describe("the operator's usage API and /metrics", () => {
  it.each([['/api/v1/usage?tenant=acme'], ['/metrics']])(
    'answer %s without a token with 401',
    async (path) => {
      const res = await get(path)
      expect(res.status).toBe(401)
      expect(res.authenticate).toMatch(/^Bearer/)
      expect(JSON.parse(res.text)).toEqual({
        error: { code: 'TOLLGATE_ERR_UNAUTHENTICATED', message: 'a bearer token is required' },
      })
    },
  )

  it('answer a token the API server does not accept with 401', async () => {
    expect((await get('/api/v1/usage?tenant=acme', 'not-a-token')).status).toBe(401)
  })

  it.each([
    ['a ServiceAccount with no rights', 'none', 'acme'],
    ["a reader of tenant acme, for another tenant's usage", 'acme', 'globex'],
    ['a ServiceAccount that may list tenants but not get one', 'listOnly', 'acme'],
    ['a metrics scraper', 'metrics', 'acme'],
  ])('answer %s with 403', async (_, who, tenant) => {
    const res = await get(`/api/v1/usage?tenant=${tenant}`, tokens[who])
    expect(res.status).toBe(403)
    expect(JSON.parse(res.text).error).toMatchObject({
      code: 'TOLLGATE_ERR_FORBIDDEN',
      message: expect.stringContaining(`may not get tenants/${tenant} (group tollgate.dev)`),
    })
  })

  it("serve tenant acme's usage to whoever may get tenants/acme", async () => {
    const res = await get('/api/v1/usage?tenant=acme', tokens.acme)
    expect(res.status).toBe(200)
    expect(JSON.parse(res.text)).toMatchObject({ tenant: 'acme', rows: [] })
  })

  it('serve /metrics to whoever may get the URL /metrics, and nobody else', async () => {
    expect((await get('/metrics', tokens.acme)).status).toBe(403)
    const res = await get('/metrics', tokens.metrics)
    expect(res.status).toBe(200)
    expect(res.text).toContain('tollgate_operator_leader')
  })
})
