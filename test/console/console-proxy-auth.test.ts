import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { stringify } from 'yaml'
import { eventually, startTestOperator, tenantDoc, uniqueName } from '../operator/support.ts'
import { kubectlOK } from '../support/kubectl.ts'
import { createDatabase } from '../support/postgres.ts'
import { serviceAccountToken } from '../support/service-account-token.ts'

// The console behind an authenticating proxy (chart console.authProxy, --console-auth=proxy): the
// user comes from the proxy's headers, what the user may do still from RBAC (SubjectAccessReview).

const stack = inject('stack')
const id = uniqueName('proxy')
let operator: Awaited<ReturnType<typeof startTestOperator>>
let reader: string

beforeAll(async () => {
  operator = await startTestOperator({
    kubeconfig: stack.kubeconfig,
    redisUrl: stack.redisUrl,
    databaseUrl: await createDatabase(stack.databaseUrl, 'proxy'),
    selector: `tollgate.dev/test=${id}`,
    leaseName: id,
    console: { auth: 'proxy' },
  })
  await kubectlOK(stack, ['apply', '-f', '-'], stringify(tenantDoc(id, { 'tollgate.dev/test': id })))
  // the user the proxy will name: a ServiceAccount that may get this tenant
  reader = `${id}-reader`
  await serviceAccountToken(stack, reader, [
    { apiGroups: ['tollgate.dev'], resources: ['tenants'], resourceNames: [id], verbs: ['get'] },
  ])
})

afterAll(async () => {
  await operator?.stop()
})

const page = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${operator.operator.consoleUrl}${path}`, { headers, redirect: 'manual' })

describe('the console behind an authenticating proxy', () => {
  it('shows the tenants RBAC lets the user the proxy names get', async () => {
    const user = `system:serviceaccount:default:${reader}`
    const body = await eventually(async () => {
      const response = await page('/tenants', {
        'x-forwarded-user': user,
        'x-forwarded-groups': 'system:serviceaccounts,system:serviceaccounts:default',
      })
      const text = await response.text()
      return response.status === 200 && text.includes(`/tenants/${id}`) && text
    })
    expect(body).toContain(`Signed in as <strong>${user}</strong>`)
  })

  it('refuses a request without the user header (401) and a user without the right (403)', async () => {
    const anonymous = await page(`/api/v1/analytics/tenant?tenant=${id}`)
    expect(anonymous.status).toBe(401)
    expect(((await anonymous.json()) as { error: { message: string } }).error.message).toContain(
      'x-forwarded-user',
    )
    const stranger = await page(`/api/v1/analytics/tenant?tenant=${id}`, { 'x-forwarded-user': 'mallory' })
    expect(stranger.status).toBe(403)
    expect(((await stranger.json()) as { error: { message: string } }).error.message).toBe(
      `mallory may not get tenants/${id} (group tollgate.dev)`,
    )
  })
})
