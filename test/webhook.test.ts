import { randomUUID } from 'node:crypto'
import { KubeConfig } from '@kubernetes/client-node'
import type { Tenant } from '@tollgate/api'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { stringify } from 'yaml'
import { freePort } from '../hack/stack/process.ts'
import { generateOperatorKeys, operatorKeys } from '../operator/src/keys/operator-keys.ts'
import { RedisPasswords } from '../operator/src/redis/redis-passwords.ts'
import { Attestor } from '../operator/src/webhook/attestation.ts'
import { collectMediation } from '../operator/src/webhook/mediation.ts'
import { type RunningWebhook, startWebhook } from '../operator/src/webhook/start-webhook.ts'
import { kubectl, kubectlOK } from './support/kubectl.ts'

// The webhook against the real API server of the shared stack: a MutatingWebhookConfiguration
// whose clientConfig.url points at the webhook on loopback, pods created through the API server
// (no kubelet runs: they are only stored), and what was stored read back. Everything is named
// with this run's id: namespaces never finish terminating without a controller-manager.
const stack = inject('stack')
const id = randomUUID().slice(0, 8)
const ns = {
  system: `wh-system-${id}`,
  app: `wh-app-${id}`, // labelled tollgate.dev/inject=enabled, owned by the tenant
  plain: `wh-plain-${id}`, // not labelled, owned by the tenant
  orphan: `wh-orphan-${id}`, // labelled, owned by no tenant
}
const tenantName = `wh-${id}`
const configName = `tollgate-test-${id}`
const registry = new Registry()
const { signingKey, seed } = generateOperatorKeys()
const keys = operatorKeys(signingKey, seed)
const attestor = new Attestor(keys.derive('injection'))

// Same selectors as charts/tollgate/templates/webhook.yaml, plus this run's label so other test
// files' namespaces are never sent here.
function webhookConfiguration(port: number, failurePolicy: 'Ignore' | 'Fail', caBundle?: string) {
  const hook = (name: string, nsOp: object, objOp: object) => ({
    name: `${name}.inject.tollgate.dev`,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    failurePolicy,
    timeoutSeconds: 5,
    reinvocationPolicy: 'Never',
    clientConfig: { url: `https://127.0.0.1:${port}/inject`, ...(caBundle && { caBundle }) },
    rules: [
      {
        operations: ['CREATE'],
        apiGroups: [''],
        apiVersions: ['v1'],
        resources: ['pods'],
        scope: 'Namespaced',
      },
    ],
    namespaceSelector: { matchLabels: { 'tollgate-test': id }, matchExpressions: [nsOp] },
    objectSelector: { matchExpressions: [objOp] },
  })
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: configName },
    webhooks: [
      hook(
        'namespace',
        { key: 'tollgate.dev/inject', operator: 'In', values: ['enabled'] },
        { key: 'tollgate.dev/inject', operator: 'NotIn', values: ['disabled'] },
      ),
      hook(
        'pod',
        { key: 'tollgate.dev/inject', operator: 'NotIn', values: ['enabled', 'disabled'] },
        { key: 'tollgate.dev/inject', operator: 'In', values: ['enabled'] },
      ),
    ],
  }
}

const pod = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'chat', ...labels } },
  spec: { containers: [{ name: 'app', image: 'example.com/chat:1.0' }] },
})

async function createPod(namespace: string, name: string, labels: Record<string, string> = {}) {
  return kubectl(stack, ['create', '-n', namespace, '-f', '-'], stringify(pod(name, labels)))
}

async function storedPod(namespace: string, name: string) {
  return JSON.parse(await kubectlOK(stack, ['get', 'pod', '-n', namespace, name, '-o', 'json']))
}

const isInjected = (stored: { spec: { initContainers?: { name: string }[] } }) =>
  stored.spec.initContainers?.some((c) => c.name === 'tollgate-sidecar') ?? false

describe('the injection webhook behind a real API server', () => {
  let webhook: RunningWebhook
  let port: number
  const kc = new KubeConfig()

  beforeAll(async () => {
    kc.loadFromFile(stack.kubeconfig)
    for (const [key, name] of Object.entries(ns)) {
      const labels = [`tollgate-test=${id}`]
      if (key === 'app' || key === 'orphan') labels.push('tollgate.dev/inject=enabled')
      await kubectlOK(stack, ['create', 'namespace', name])
      await kubectlOK(stack, ['label', 'namespace', name, ...labels])
    }
    const tenant: Tenant = {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Tenant',
      metadata: { name: tenantName },
      spec: {
        tier: 'pro',
        namespaces: [ns.app, ns.plain],
        providers: [
          {
            name: 'openai',
            type: 'openai',
            credentialsSecretRef: { namespace: ns.system, name: 'openai-key', key: 'apiKey' },
          },
          { name: 'anthropic', type: 'anthropic' },
        ],
        // A Secret of the app's own namespace that holds a Tenant's secret: no pod may read it.
        alerts: { webhookSecretRef: { namespace: ns.app, name: 'alert-url', key: 'url' } },
      },
    }
    await kubectlOK(stack, ['create', '-f', '-'], stringify(tenant))
    const ready = {
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Synced',
            message: 'config written',
            lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          },
        ],
      },
    }
    await kubectlOK(stack, [
      'patch',
      'tenant',
      tenantName,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify(ready),
    ])
    port = await freePort()
    // Registered before the webhook starts, without a caBundle: the operator fills it in.
    await kubectlOK(stack, ['create', '-f', '-'], stringify(webhookConfiguration(port, 'Ignore')))
    webhook = await startWebhook({
      kc,
      host: '127.0.0.1',
      port,
      failurePolicy: 'Ignore',
      certMode: 'operator',
      namespace: ns.system,
      certSecret: 'tollgate-webhook-cert',
      webhookConfigName: configName,
      serviceName: 'tollgate',
      extraIPAddresses: ['127.0.0.1'],
      exchangeURL: 'https://tollgate.example:443/exchange',
      exchangeTtlMs: 3_600_000,
      keys,
      passwords: new RedisPasswords(keys.derive('redis-acl'), 3_600_000),
      operatorSecrets: ['tollgate-operator-keys'],
      registry,
      logger: pino({ level: 'silent' }),
    })
  })

  afterAll(async () => {
    await webhook?.stop()
    await kubectl(stack, ['delete', 'mutatingwebhookconfiguration', configName, '--ignore-not-found'])
  })

  it('wrote its certificate into a Secret and the CA into the caBundle', async () => {
    const secret = JSON.parse(
      await kubectlOK(stack, ['get', 'secret', '-n', ns.system, 'tollgate-webhook-cert', '-o', 'json']),
    )
    expect(secret.type).toBe('kubernetes.io/tls')
    const config = JSON.parse(
      await kubectlOK(stack, ['get', 'mutatingwebhookconfiguration', configName, '-o', 'json']),
    )
    for (const hook of config.webhooks) expect(hook.clientConfig.caBundle).toBe(secret.data['ca.crt'])
    expect(webhook.isReady()).toBe(true)
  })

  it('injects pods created in an opted-in namespace of a ready tenant', async () => {
    const result = await createPod(ns.app, 'chat')
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('')
    const stored = await storedPod(ns.app, 'chat')
    const [sidecar] = stored.spec.initContainers
    expect(sidecar).toMatchObject({ name: 'tollgate-sidecar', restartPolicy: 'Always' })
    expect(sidecar.env).toContainEqual({ name: 'TOLLGATE_TENANT', value: tenantName })
    expect(sidecar.env).toContainEqual({ name: 'TOLLGATE_NAMESPACE', value: ns.app })
    // The sidecar's identity: a token of audience tollgate.dev, in its container only; where to
    // exchange it and whom to trust there; no provider key, no Secret anywhere in the pod.
    expect(sidecar.volumeMounts).toEqual([
      { name: 'tollgate-token', mountPath: '/var/run/secrets/tollgate.dev', readOnly: true },
    ])
    expect(stored.spec.volumes).toContainEqual({
      name: 'tollgate-token',
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { audience: 'tollgate.dev', expirationSeconds: 600, path: 'token' } },
        ],
      },
    })
    expect(sidecar.env).toContainEqual({
      name: 'TOLLGATE_EXCHANGE_URL',
      value: 'https://tollgate.example:443/exchange',
    })
    expect(sidecar.env).toContainEqual({ name: 'TOLLGATE_EXCHANGE_CA', value: webhook.trust().caBundle })
    expect(JSON.stringify(stored.spec)).not.toMatch(/secretName|secretKeyRef|"secret"/)
    const [app] = stored.spec.containers
    expect(app.env).toEqual([
      { name: 'OPENAI_BASE_URL', value: 'http://127.0.0.1:4141/openai/v1' },
      { name: 'ANTHROPIC_BASE_URL', value: 'http://127.0.0.1:4141/anthropic' },
      { name: 'OPENAI_API_KEY', value: 'tollgate-placeholder' },
      { name: 'ANTHROPIC_API_KEY', value: 'tollgate-placeholder' },
    ])
    expect(app.volumeMounts ?? []).not.toContainEqual(
      expect.objectContaining({ name: 'tollgate-credentials' }),
    )
    expect(stored.metadata.labels['tollgate.dev/tenant']).toBe(tenantName)
    expect(JSON.parse(stored.metadata.annotations['tollgate.dev/injected'])).toMatchObject({
      v: 2,
      tenant: tenantName,
      providers: ['openai', 'anthropic'],
      containers: ['app'],
    })
    // The attestation holds on the pod as the API server stored it, defaults and all.
    expect(attestor.verify(stored, ns.app)?.tenant).toBe(tenantName)
  })

  // Attacks of issue 11, through the real API server.
  it('injects a pod that carries a forged tollgate.dev/injected annotation', async () => {
    const genuine = await storedPod(ns.app, 'chat')
    const forged = pod('forged')
    const created = await kubectl(
      stack,
      ['create', '-n', ns.app, '-f', '-'],
      stringify({ ...forged, metadata: { ...forged.metadata, annotations: genuine.metadata.annotations } }),
    )
    expect(created.code).toBe(0)
    const stored = await storedPod(ns.app, 'forged')
    expect(isInjected(stored)).toBe(true)
    expect(attestor.verify(stored, ns.app)?.tenant).toBe(tenantName)
  })

  it.each([
    [
      'the tollgate.dev token audience',
      {
        volumes: [
          {
            name: 'stolen',
            projected: { sources: [{ serviceAccountToken: { audience: 'tollgate.dev', path: 'token' } }] },
          },
        ],
        containers: [
          { name: 'app', image: 'example.com/chat:1.0', volumeMounts: [{ name: 'stolen', mountPath: '/t' }] },
        ],
      },
      'TokenAudienceMounted',
    ],
    [
      "a Tenant's Secret",
      {
        containers: [
          { name: 'app', image: 'example.com/chat:1.0', envFrom: [{ secretRef: { name: 'alert-url' } }] },
        ],
      },
      'TollgateSecretMounted',
    ],
  ])(
    'refuses a pod whose app container mounts %s, although the failure policy is Ignore',
    async (_, spec, reason) => {
      const name = `refused-${reason.toLowerCase()}`
      const result = await kubectl(
        stack,
        ['create', '-n', ns.app, '-f', '-'],
        stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec }),
      )
      expect(result.code).not.toBe(0)
      expect(result.stderr).toContain(`tollgate.dev/${reason}`)
      expect((await kubectl(stack, ['get', 'pod', '-n', ns.app, name])).code).not.toBe(0)
    },
  )

  it('leaves pods alone that did not opt in or opted out', async () => {
    expect((await createPod(ns.plain, 'plain')).code).toBe(0)
    expect(isInjected(await storedPod(ns.plain, 'plain'))).toBe(false)
    const optedOut = await createPod(ns.app, 'opted-out', { 'tollgate.dev/inject': 'disabled' })
    expect(optedOut.stderr).toBe('')
    expect(isInjected(await storedPod(ns.app, 'opted-out'))).toBe(false)
  })

  it('injects a pod that opts in by its own label in a namespace that is not labelled', async () => {
    expect((await createPod(ns.plain, 'opted-in', { 'tollgate.dev/inject': 'enabled' })).code).toBe(0)
    expect(isInjected(await storedPod(ns.plain, 'opted-in'))).toBe(true)
  })

  it('admits a pod it cannot serve unchanged, with a warning kubectl shows, and counts it', async () => {
    const result = await createPod(ns.orphan, 'orphan')
    expect(result.code).toBe(0)
    expect(result.stderr).toContain(`Warning: tollgate.dev/NoTenant: no Tenant lists namespace ${ns.orphan}`)
    expect(isInjected(await storedPod(ns.orphan, 'orphan'))).toBe(false)
    const metrics = await registry.getSingleMetricAsString('tollgate_webhook_admissions_total')
    expect(metrics).toContain('tollgate_webhook_admissions_total{result="skipped",reason="NoTenant"} 1')
  })

  describe('when the webhook is down', () => {
    beforeAll(async () => {
      await webhook.stop()
    })

    it('failurePolicy Ignore admits pods unchanged', async () => {
      const result = await createPod(ns.app, 'while-down')
      expect(result.code).toBe(0)
      expect(isInjected(await storedPod(ns.app, 'while-down'))).toBe(false)
      // One of them carries the injected annotation of a real pod, copied by its author.
      const genuine = await storedPod(ns.app, 'chat')
      const forged = pod('forged-while-down')
      const copied = {
        ...forged,
        metadata: { ...forged.metadata, annotations: genuine.metadata.annotations },
      }
      expect((await kubectl(stack, ['create', '-n', ns.app, '-f', '-'], stringify(copied))).code).toBe(0)
      expect(isInjected(await storedPod(ns.app, 'forged-while-down'))).toBe(false)
    })

    it('failurePolicy Fail refuses them', async () => {
      const config = JSON.parse(
        await kubectlOK(stack, ['get', 'mutatingwebhookconfiguration', configName, '-o', 'json']),
      )
      for (const hook of config.webhooks) hook.failurePolicy = 'Fail'
      await kubectlOK(stack, ['replace', '-f', '-'], JSON.stringify(config))
      const result = await createPod(ns.app, 'refused')
      expect(result.code).not.toBe(0)
      expect(result.stderr).toContain('failed calling webhook "namespace.inject.tollgate.dev"')
      expect((await kubectl(stack, ['get', 'pod', '-n', ns.app, 'refused'])).code).not.toBe(0)
    })

    it('the tenant mediation status names the running pod that missed its sidecar', async () => {
      // No kubelet runs, so mark the stored pods Running by hand, as a kubelet would.
      for (const [namespace, name] of [
        [ns.app, 'chat'],
        [ns.app, 'forged'],
        [ns.plain, 'opted-in'],
        [ns.app, 'while-down'],
        [ns.app, 'forged-while-down'],
        [ns.app, 'opted-out'],
        [ns.plain, 'plain'],
      ] as const) {
        await kubectlOK(stack, [
          'patch',
          'pod',
          '-n',
          namespace,
          name,
          '--subresource=status',
          '--type=merge',
          '-p',
          '{"status":{"phase":"Running"}}',
        ])
      }
      const tenant = JSON.parse(await kubectlOK(stack, ['get', 'tenant', tenantName, '-o', 'json']))
      const status = await collectMediation(kc, tenant, attestor)
      // The copied annotation does not count: only attested sidecars do.
      expect(status.mediatedPods).toBe(3)
      expect(status.unmediated).toEqual([`${ns.app}/forged-while-down`, `${ns.app}/while-down`])
      expect(status.condition).toMatchObject({ type: 'Mediated', status: 'False', reason: 'UnmediatedPods' })
      expect(status.condition.message).toContain(`${ns.app}/while-down`)
    })
  })
})
