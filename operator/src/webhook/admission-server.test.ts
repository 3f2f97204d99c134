import { request } from 'node:https'
import type { V1Pod } from '@kubernetes/client-node'
import type { Tenant } from '@tollgate/api'
import { Registry } from 'prom-client'
import { applyPatch } from 'rfc6902'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FailurePolicy, Logger } from './admission-handler.ts'
import type { AdmissionReview } from './admission-review.ts'
import { AdmissionServer, INJECT_PATH } from './admission-server.ts'
import { TEST_ATTESTOR, TEST_OPERATOR, TEST_TRUST } from './fixtures.test-support.ts'
import { DEFAULT_INJECTION_CONFIG } from './injection-config.ts'
import type { InjectionSources } from './injection-sources.ts'
import { WebhookMetrics } from './webhook-metrics.ts'
import { createCA, issueServingCertificate } from './webhook-pki.ts'

const now = new Date()
const ca = createCA({ commonName: 'test-ca', validForDays: 1, now })
const pair = issueServingCertificate(ca, {
  dnsNames: ['localhost'],
  ipAddresses: ['127.0.0.1'],
  validForDays: 1,
  now,
})

const tenant: Tenant = {
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Tenant',
  metadata: { name: 'acme' },
  spec: {
    namespaces: ['acme-prod'],
    providers: [
      {
        name: 'openai',
        type: 'openai',
        credentialsSecretRef: { namespace: 'acme-prod', name: 'openai-key', key: 'apiKey' },
      },
    ],
  },
  status: {
    conditions: [
      { type: 'Ready', status: 'True', reason: 'Synced', message: '', lastTransitionTime: now.toISOString() },
    ],
  },
}
// A fixed view of a cluster: the webhook's own input, not a stand-in for the API server.
const sources: InjectionSources = {
  namespace: async (name) => ({ name, labels: { 'tollgate.dev/inject': 'enabled' } }),
  tenants: async () => [tenant],
}
const quiet: Logger = { info() {}, warn() {}, error() {} }

const pod = (): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p' },
  spec: { containers: [{ name: 'app', image: 'x' }] },
})
const review = (namespace: string, object: V1Pod = pod()): AdmissionReview => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: `uid-${namespace}`,
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace,
    operation: 'CREATE',
    object,
  },
})

function post(port: number, body: string, path = INJECT_PATH) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        ca: ca.cert,
        servername: 'localhost',
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = ''
        res.on('data', (c) => {
          text += c
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

async function serve(failurePolicy: FailurePolicy) {
  const registry = new Registry()
  const server = new AdmissionServer(
    {
      sources,
      config: DEFAULT_INJECTION_CONFIG,
      trust: () => TEST_TRUST,
      attestor: TEST_ATTESTOR,
      operator: TEST_OPERATOR,
      failurePolicy,
      metrics: new WebhookMetrics(registry),
      logger: quiet,
    },
    pair,
  )
  const { port } = await server.listen(0, '127.0.0.1')
  return { server, port, registry }
}

describe('admission server', () => {
  let ignore: Awaited<ReturnType<typeof serve>>
  let fail: Awaited<ReturnType<typeof serve>>
  beforeAll(async () => {
    ignore = await serve('Ignore')
    fail = await serve('Fail')
  })
  afterAll(async () => {
    await ignore.server.close()
    await fail.server.close()
  })

  it('answers an AdmissionReview with a JSON patch that injects the sidecar', async () => {
    const res = await post(ignore.port, JSON.stringify(review('acme-prod')))
    expect(res.status).toBe(200)
    const answer = JSON.parse(res.body) as AdmissionReview
    expect(answer.response).toMatchObject({ uid: 'uid-acme-prod', allowed: true, patchType: 'JSONPatch' })
    const patched = pod()
    applyPatch(patched, JSON.parse(Buffer.from(answer.response?.patch ?? '', 'base64').toString()))
    expect(patched.spec?.initContainers?.[0]).toMatchObject({
      name: 'tollgate-sidecar',
      restartPolicy: 'Always',
    })
    expect(patched.spec?.containers[0]?.env).toContainEqual({
      name: 'OPENAI_BASE_URL',
      value: 'http://127.0.0.1:4141/openai/v1',
    })
  })

  it('admits a pod it cannot serve unchanged, with a warning, and counts it (failurePolicy Ignore)', async () => {
    const res = await post(ignore.port, JSON.stringify(review('nobodys')))
    const answer = JSON.parse(res.body) as AdmissionReview
    expect(answer.response?.allowed).toBe(true)
    expect(answer.response?.patch).toBeUndefined()
    expect(answer.response?.warnings?.[0]).toMatch(
      /^tollgate.dev\/NoTenant: no Tenant lists namespace nobodys/,
    )
    const metrics = await ignore.registry.getSingleMetricAsString('tollgate_webhook_admissions_total')
    expect(metrics).toContain('tollgate_webhook_admissions_total{result="skipped",reason="NoTenant"} 1')
    expect(metrics).toContain('tollgate_webhook_admissions_total{result="injected",reason="Injected"} 1')
  })

  it('denies a pod it cannot serve under failurePolicy Fail, naming the reason', async () => {
    const res = await post(fail.port, JSON.stringify(review('nobodys')))
    const answer = JSON.parse(res.body) as AdmissionReview
    expect(answer.response).toMatchObject({ allowed: false, status: { code: 403 } })
    expect(answer.response?.status?.message).toMatch(/NoTenant/)
    const metrics = await fail.registry.getSingleMetricAsString('tollgate_webhook_admissions_total')
    expect(metrics).toContain('{result="denied",reason="NoTenant"} 1')
  })

  it('lets pods that opted out through under failurePolicy Fail', async () => {
    const optedOut = pod()
    optedOut.metadata = { name: 'p', labels: { 'tollgate.dev/inject': 'disabled' } }
    const res = await post(fail.port, JSON.stringify(review('nobodys', optedOut)))
    expect(JSON.parse(res.body).response).toEqual({ uid: 'uid-nobodys', allowed: true })
  })

  // Attacks of issue 11: a pod that would give its app the sidecar's token or a provider key is
  // refused even under failurePolicy Ignore, and a forged record does not make the webhook skip.
  it.each([
    [
      'a projected token of audience tollgate.dev in the app container',
      {
        volumes: [
          {
            name: 'stolen',
            projected: { sources: [{ serviceAccountToken: { audience: 'tollgate.dev', path: 'token' } }] },
          },
        ],
        containers: [{ name: 'app', image: 'x', volumeMounts: [{ name: 'stolen', mountPath: '/t' }] }],
      },
      'TokenAudienceMounted',
    ],
    [
      'the Secret a Tenant keeps its provider key in, as an env variable',
      {
        containers: [
          {
            name: 'app',
            image: 'x',
            env: [{ name: 'KEY', valueFrom: { secretKeyRef: { name: 'openai-key', key: 'apiKey' } } }],
          },
        ],
      },
      'TollgateSecretMounted',
    ],
    [
      'the same Secret as a volume',
      {
        volumes: [{ name: 'k', secret: { secretName: 'openai-key' } }],
        containers: [{ name: 'app', image: 'x', volumeMounts: [{ name: 'k', mountPath: '/k' }] }],
      },
      'TollgateSecretMounted',
    ],
  ])('refuses a pod with %s, whatever the failure policy', async (_, spec, reason) => {
    const bad = { ...pod(), spec } as V1Pod
    const answer = JSON.parse((await post(ignore.port, JSON.stringify(review('acme-prod', bad)))).body)
    expect(answer.response).toMatchObject({ allowed: false, status: { code: 403 } })
    expect(answer.response.status.message).toContain(`tollgate.dev/${reason}`)
  })

  it('injects a pod that carries a forged tollgate.dev/injected annotation, replacing it', async () => {
    const forged = pod()
    forged.metadata = {
      name: 'p',
      annotations: {
        'tollgate.dev/injected': JSON.stringify({ v: 2, tenant: 'acme', hash: 'h', sig: 'forged' }),
      },
    }
    const answer = JSON.parse((await post(ignore.port, JSON.stringify(review('acme-prod', forged)))).body)
    expect(answer.response).toMatchObject({ allowed: true, patchType: 'JSONPatch' })
    const patched = structuredClone(forged)
    applyPatch(patched, JSON.parse(Buffer.from(answer.response.patch, 'base64').toString()))
    expect(patched.spec?.initContainers?.[0]?.name).toBe('tollgate-sidecar')
    expect(TEST_ATTESTOR.verify(patched, 'acme-prod')?.tenant).toBe('acme')
  })

  it('refuses what is not an AdmissionReview', async () => {
    expect((await post(ignore.port, '{"kind":"Pod"}')).status).toBe(400)
    expect((await post(ignore.port, 'not json')).status).toBe(400)
    expect((await post(ignore.port, '{}', '/elsewhere')).status).toBe(404)
  })

  it('serves a replaced certificate on new connections', async () => {
    const otherCA = createCA({ commonName: 'other-ca', validForDays: 1, now })
    const other = issueServingCertificate(otherCA, { dnsNames: ['localhost'], validForDays: 1, now })
    const { server, port } = await serve('Ignore')
    try {
      server.setCertificate(other)
      await expect(post(port, JSON.stringify(review('acme-prod')))).rejects.toThrow(/certificate/)
    } finally {
      await server.close()
    }
  })
})
