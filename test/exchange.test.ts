import { request } from 'node:https'
import type { V1Pod } from '@kubernetes/client-node'
import { type CredentialResponse, tenantAclUser } from '@tollgate/api'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { type ExchangeFixture, exchangeFixture } from './support/exchange-fixture.ts'
import { kubectlOK } from './support/kubectl.ts'
import { redisUrlAs } from './support/redis.ts'

// The credential exchange against the real API server: every token is a real ServiceAccount token
// (TokenRequest), reviewed by the real TokenReview; every pod is stored by the real API server.
// The attacks of issue 11 that need no kubelet: a token of another tenant's pod, of a pod without
// the sidecar, of the wrong audience, and the ways a pod's author could dress a pod up as injected.
const stack = inject('stack')
const KEY_A = 'sk-tenant-a-0123456789'
const KEY_B = 'sk-tenant-b-9876543210'
let a: ExchangeFixture
let b: ExchangeFixture

const spec = (secret: string) => (operatorNamespace: string) => ({
  tier: 'unlimited' as const,
  providers: [
    {
      name: 'openai',
      type: 'openai' as const,
      baseURL: 'https://api.openai.example',
      credentialsSecretRef: { namespace: operatorNamespace, name: secret, key: 'apiKey' },
    },
  ],
})

beforeAll(async () => {
  // Each fixture has its own operator namespace; the references point into it.
  a = await exchangeFixture(stack, {
    spec: spec('openai-a'),
    secrets: { 'openai-a': { apiKey: KEY_A } },
    redisUrl: stack.redisSidecarUrl,
  })
  b = await exchangeFixture(stack, {
    spec: spec('openai-b'),
    secrets: { 'openai-b': { apiKey: KEY_B } },
    redisUrl: stack.redisSidecarUrl,
  })
  const operator = new Redis(stack.redisUrl)
  await a.ensureAclUser(operator)
  await b.ensureAclUser(operator)
  operator.disconnect()
}, 120_000)

afterAll(async () => {
  await a?.close()
  await b?.close()
})

/** exchange POSTs a CredentialRequest to a fixture's operator with a bearer token. */
function exchange(
  f: ExchangeFixture,
  token: string | undefined,
  tenant = f.tenant.metadata.name,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const body = JSON.stringify({ apiVersion: 'tollgate.dev/v1alpha1', kind: 'CredentialRequest', tenant })
  return new Promise((resolve, reject) => {
    const req = request(
      f.trust.exchangeURL,
      {
        method: 'POST',
        ca: f.trust.caBundle,
        headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
      },
      (res) => {
        let text = ''
        res.on('data', (c) => {
          text += c
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

const errorCode = (r: { body: Record<string, unknown> }) =>
  (r.body.error as { code: string } | undefined)?.code

describe('the credential exchange', () => {
  it("gives a pod the webhook injected its own tenant's key, Redis user and config key, with an expiry", async () => {
    const { pod } = await a.injectedPod('genuine')
    const answer = await exchange(a, await a.token(pod))
    expect(answer.status).toBe(200)
    const material = answer.body as unknown as CredentialResponse
    expect(material.providers).toEqual([
      { name: 'openai', origin: 'https://api.openai.example', apiKey: KEY_A },
    ])
    expect(material.redis.username).toBe(tenantAclUser(a.tenant.metadata.name))
    expect(material.configKeys).toEqual(a.keys.configKeys)
    expect(Date.parse(material.expiresAt)).toBeGreaterThan(Date.parse(material.refreshAfter))
    expect(JSON.stringify(material)).not.toContain(KEY_B)
    // The Redis password works, for that tenant's keys only.
    // No ready check: it sends INFO, which a tenant user may not.
    const client = new Redis(
      redisUrlAs(stack.redisSidecarUrl, material.redis.username, material.redis.password),
      {
        enableReadyCheck: false,
      },
    )
    try {
      await client.set(`tollgate:v1:{${a.tenant.metadata.name}}:cache:1:x`, 'v')
      await expect(client.get(`tollgate:v1:{${b.tenant.metadata.name}}:cache:1:x`)).rejects.toThrow(/NOPERM/)
    } finally {
      client.disconnect()
    }
  })

  it('refuses a call without a token (401)', async () => {
    const answer = await exchange(a, undefined)
    expect(answer.status).toBe(401)
    expect(errorCode(answer)).toBe('TOLLGATE_ERR_UNAUTHENTICATED')
  })

  it("refuses a token of the pod's own ServiceAccount with the API server's audience (401)", async () => {
    const { pod } = await a.injectedPod('wrong-audience')
    const token = await a.token(pod, 'https://kubernetes.default.svc.cluster.local')
    const answer = await exchange(a, token)
    expect(answer.status).toBe(401)
    expect(errorCode(answer)).toBe('TOLLGATE_ERR_UNAUTHENTICATED')
  })

  it("refuses a token of another tenant's pod that asks for this tenant's credentials (403)", async () => {
    const { pod } = await b.injectedPod('other-tenant')
    const answer = await exchange(a, await b.token(pod), a.tenant.metadata.name)
    expect(answer.status).toBe(403)
    expect(errorCode(answer)).toBe('TOLLGATE_ERR_EXCHANGE_REFUSED')
    expect(JSON.stringify(answer.body)).not.toContain(KEY_A)
  })

  it('refuses a token of a pod without the sidecar (403)', async () => {
    const pod = await a.createPod({
      metadata: { name: 'no-sidecar' },
      spec: { serviceAccountName: 'app', containers: [{ name: 'app', image: 'example.com/app:1' }] },
    })
    const answer = await exchange(a, await a.token(pod))
    expect(answer.status).toBe(403)
    expect(answer.body.error).toMatchObject({
      message: expect.stringContaining('no sidecar injected by Tollgate'),
    })
  })

  it("refuses a pod that copied an injected pod's sidecar and annotation, then changed where it sends (403)", async () => {
    const { pod: genuine } = await a.injectedPod('template')
    const copy = structuredClone(genuine) as V1Pod
    copy.metadata = { name: 'copy', annotations: genuine.metadata?.annotations }
    for (const e of copy.spec?.initContainers?.[0]?.env ?? [])
      if (e.name === 'TOLLGATE_REDIS_URL') e.value = 'redis://attacker.example:6379'
    delete copy.spec?.nodeName
    const stored = await a.createPod(copy)
    const answer = await exchange(a, await a.token(stored))
    expect(answer.status).toBe(403)
    expect(answer.body.error).toMatchObject({
      message: expect.stringContaining('no sidecar injected by Tollgate'),
    })
  })

  it('refuses a pod with a genuine sidecar whose app container also mounts the token (403)', async () => {
    const { pod: genuine } = await a.injectedPod('template-2')
    const copy = structuredClone(genuine) as V1Pod
    copy.metadata = { name: 'shares-token', annotations: genuine.metadata?.annotations }
    const app = copy.spec?.containers[0]
    if (app)
      app.volumeMounts = [...(app.volumeMounts ?? []), { name: 'tollgate-token', mountPath: '/stolen' }]
    const stored = await a.createPod(copy)
    const answer = await exchange(a, await a.token(stored))
    expect(answer.status).toBe(403)
    expect(answer.body.error).toMatchObject({
      message: expect.stringContaining('container app mounts tollgate-token'),
    })
  })

  it('refuses a pod with a genuine sidecar that shares its process namespace (403)', async () => {
    const { pod: genuine } = await a.injectedPod('template-3')
    const copy = structuredClone(genuine) as V1Pod
    copy.metadata = { name: 'shares-processes', annotations: genuine.metadata?.annotations }
    if (copy.spec) copy.spec.shareProcessNamespace = true
    const stored = await a.createPod(copy)
    const answer = await exchange(a, await a.token(stored))
    expect(answer.status).toBe(403)
    expect(answer.body.error).toMatchObject({
      message: expect.stringContaining('shares its process namespace'),
    })
  })

  it('refuses the token of a pod that was deleted (the API server no longer accepts it)', async () => {
    const { pod } = await a.injectedPod('deleted')
    const token = await a.token(pod)
    await kubectlOK(stack, ['delete', 'pod', '-n', a.namespace, 'deleted', '--wait=false'])
    await new Promise((r) => setTimeout(r, 200))
    const answer = await exchange(a, token)
    expect([401, 403]).toContain(answer.status)
  })
})
