import { randomUUID, X509Certificate } from 'node:crypto'
import { KubeConfig } from '@kubernetes/client-node'
import { pino } from 'pino'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { stringify } from 'yaml'
import type { KeyPair } from '../operator/src/webhook/admission-server.ts'
import { WebhookCertificates } from '../operator/src/webhook/webhook-certificates.ts'
import { isIssuedBy } from '../operator/src/webhook/webhook-pki.ts'
import { kubectlOK } from './support/kubectl.ts'

// The operator-managed webhook certificate on a real API server: replicas racing on one Secret
// agree, renewal replaces only what is due, and the caBundle follows the CA (keeping the
// previous CA while it is valid).
const stack = inject('stack')
const id = randomUUID().slice(0, 8)
const namespace = `whcert-${id}`
const configName = `tollgate-cert-test-${id}`
const DAY = 86_400_000
const start = new Date()

const kc = new KubeConfig()
const replica = (now: Date, served: KeyPair[] = []) =>
  new WebhookCertificates({
    kc,
    namespace,
    secretName: 'webhook-cert',
    webhookConfigName: configName,
    dnsNames: [`tollgate.${namespace}.svc`],
    mode: 'operator',
    onCertificate: (pair) => served.push(pair),
    logger: pino({ level: 'silent' }),
    now: () => now,
  })

const readSecret = async () =>
  JSON.parse(await kubectlOK(stack, ['get', 'secret', '-n', namespace, 'webhook-cert', '-o', 'json']))
const decode = (secret: { data: Record<string, string> }, key: string) =>
  Buffer.from(secret.data[key] ?? '', 'base64').toString()
const caBundles = async () =>
  JSON.parse(
    await kubectlOK(stack, ['get', 'mutatingwebhookconfiguration', configName, '-o', 'json']),
  ).webhooks.map((w: { clientConfig: { caBundle?: string } }) =>
    Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString(),
  )

describe('webhook certificates kept by the operator', () => {
  beforeAll(async () => {
    kc.loadFromFile(stack.kubeconfig)
    await kubectlOK(stack, ['create', 'namespace', namespace])
    const config = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: configName },
      webhooks: [
        {
          name: 'cert.test.tollgate.dev',
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: 'Ignore',
          clientConfig: { url: 'https://127.0.0.1:1/inject' },
          // Matches nothing: only the caBundle matters here.
          objectSelector: { matchLabels: { 'tollgate-cert-test': id } },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
        },
      ],
    }
    await kubectlOK(stack, ['create', '-f', '-'], stringify(config))
  })

  it('lets replicas that start together agree on one certificate', async () => {
    const served: KeyPair[] = []
    const pairs = await Promise.all([1, 2, 3].map(() => replica(start, served).sync()))
    expect(new Set(pairs.map((p) => p.cert)).size).toBe(1)
    const secret = await readSecret()
    expect(decode(secret, 'tls.crt')).toBe(pairs[0]?.cert)
    expect(isIssuedBy(decode(secret, 'tls.crt'), decode(secret, 'ca.crt'))).toBe(true)
    expect(await caBundles()).toEqual([decode(secret, 'ca.crt')])
  })

  it('makes the Secret owned by the operator Deployment when told, so it goes with it', async () => {
    const owner = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'tollgate', uid: randomUUID() }
    const certificates = new WebhookCertificates({
      kc,
      namespace,
      secretName: 'owned-webhook-cert',
      webhookConfigName: configName,
      dnsNames: [`tollgate.${namespace}.svc`],
      mode: 'operator',
      owner,
      onCertificate: () => {},
      logger: pino({ level: 'silent' }),
      now: () => start,
    })
    await certificates.sync()
    const secret = JSON.parse(
      await kubectlOK(stack, ['get', 'secret', '-n', namespace, 'owned-webhook-cert', '-o', 'json']),
    )
    expect(secret.metadata.ownerReferences).toEqual([owner])
  })

  it('changes nothing while the certificate is fresh', async () => {
    const before = (await readSecret()).metadata.resourceVersion
    await replica(new Date(start.getTime() + 30 * DAY)).sync()
    expect((await readSecret()).metadata.resourceVersion).toBe(before)
  })

  it('renews the serving certificate with a third of its life left, under the same CA', async () => {
    const old = await readSecret()
    const served: KeyPair[] = []
    const later = new Date(start.getTime() + 250 * DAY)
    const pair = await replica(later, served).sync()
    const renewed = await readSecret()
    expect(pair.cert).not.toBe(decode(old, 'tls.crt'))
    expect(decode(renewed, 'ca.crt')).toBe(decode(old, 'ca.crt'))
    expect(new Date(new X509Certificate(pair.cert).validTo).getTime()).toBeGreaterThan(
      later.getTime() + 300 * DAY,
    )
    expect(served.map((p) => p.cert)).toEqual([pair.cert])
  })

  it('rotates the CA near its end and keeps the previous CA in the caBundle while it is valid', async () => {
    const old = await readSecret()
    const late = new Date(start.getTime() + 3000 * DAY)
    await replica(late).sync()
    const rotated = await readSecret()
    expect(decode(rotated, 'ca.crt')).not.toBe(decode(old, 'ca.crt'))
    expect(decode(rotated, 'ca-previous.crt')).toBe(decode(old, 'ca.crt'))
    expect(isIssuedBy(decode(rotated, 'tls.crt'), decode(rotated, 'ca.crt'))).toBe(true)
    expect(await caBundles()).toEqual([decode(rotated, 'ca.crt') + decode(old, 'ca.crt')])
  })
})
