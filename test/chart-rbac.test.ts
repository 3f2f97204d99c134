import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { KubeConfig } from '@kubernetes/client-node'
import type { Tenant } from '@tollgate/api'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { parseAllDocuments, stringify } from 'yaml'
import { generateOperatorKeys, operatorKeys } from '../operator/src/keys/operator-keys.ts'
import { RedisPasswords } from '../operator/src/redis/redis-passwords.ts'
import { Attestor } from '../operator/src/webhook/attestation.ts'
import { collectMediation } from '../operator/src/webhook/mediation.ts'
import { MediationController } from '../operator/src/webhook/mediation-controller.ts'
import { type RunningWebhook, startWebhook } from '../operator/src/webhook/start-webhook.ts'
import { kubectl, kubectlOK } from './support/kubectl.ts'

// The chart's RBAC is least privilege *and* enough: the webhook and the mediation count run here
// with a token of the chart's own ServiceAccount, bound by the chart's own roles, against the real
// API server; `kubectl auth can-i` shows what that account may not do.
const stack = inject('stack')
const id = randomUUID().slice(0, 8)
const namespace = `rbac-${id}`
const fullname = `tg-${id}`
const account = `system:serviceaccount:${namespace}:${fullname}`
const { signingKey, seed } = generateOperatorKeys()
const keys = operatorKeys(signingKey, seed)
const attestor = new Attestor(keys.derive('injection'))

function helmTemplate(): Promise<string> {
  const chart = new URL('../charts/tollgate', import.meta.url).pathname
  const args = ['template', 'tollgate', chart, '-n', namespace, '--kube-version', '1.33.0']
  args.push('--set', `fullnameOverride=${fullname}`)
  return new Promise((resolve, reject) => {
    execFile(join(stack.binDir, 'helm'), args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(new Error(stderr)) : resolve(stdout),
    )
  })
}

const canI = async (...args: string[]) =>
  (await kubectl(stack, ['auth', 'can-i', '--as', account, ...args])).stdout.trim()

describe("the chart's RBAC", () => {
  let webhook: RunningWebhook
  const kc = new KubeConfig()

  beforeAll(async () => {
    await kubectlOK(stack, ['create', 'namespace', namespace])
    const rbacKinds = ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']
    const docs = parseAllDocuments(await helmTemplate())
      .map((d) => d.toJS())
      .filter((d) => d && rbacKinds.includes(d.kind))
    expect([...new Set(docs.map((d) => d.kind))].sort()).toEqual([...rbacKinds].sort())
    await kubectlOK(stack, ['apply', '-f', '-'], docs.map((d) => stringify(d)).join('---\n'))
    // The webhook configuration the role may touch, by name (resourceNames).
    const config = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: fullname },
      webhooks: [
        {
          name: 'rbac.test.tollgate.dev',
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: 'Ignore',
          clientConfig: { url: 'https://127.0.0.1:1/inject' },
          objectSelector: { matchLabels: { 'tollgate-rbac-test': id } },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
        },
      ],
    }
    await kubectlOK(stack, ['create', '-f', '-'], stringify(config))
    const token = (await kubectlOK(stack, ['create', 'token', fullname, '-n', namespace])).trim()
    const admin = new KubeConfig()
    admin.loadFromFile(stack.kubeconfig)
    const cluster = admin.getCurrentCluster()
    if (!cluster) throw new Error('no cluster in the stack kubeconfig')
    kc.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'operator', token }],
      contexts: [{ name: 'operator', cluster: cluster.name, user: 'operator' }],
      currentContext: 'operator',
    })
  })

  afterAll(async () => {
    await webhook?.stop()
    await kubectl(stack, ['delete', 'mutatingwebhookconfiguration', fullname, '--ignore-not-found'])
  })

  it('lets the webhook start as the chart ServiceAccount: caches, certificate Secret, caBundle', async () => {
    webhook = await startWebhook({
      kc,
      host: '127.0.0.1',
      port: 0,
      failurePolicy: 'Ignore',
      certMode: 'operator',
      namespace,
      certSecret: `${fullname}-webhook-cert`,
      webhookConfigName: fullname,
      serviceName: fullname,
      exchangeURL: `https://${fullname}.${namespace}.svc:443/exchange`,
      exchangeTtlMs: 3_600_000,
      keys,
      passwords: new RedisPasswords(keys.derive('redis-acl'), 3_600_000),
      operatorSecrets: ['tollgate-operator-keys'],
      registry: new Registry(),
      logger: pino({ level: 'silent' }),
    })
    expect(webhook.isReady()).toBe(true)
    const config = JSON.parse(
      await kubectlOK(stack, ['get', 'mutatingwebhookconfiguration', fullname, '-o', 'json']),
    )
    expect(config.webhooks[0].clientConfig.caBundle).toBeTruthy()
  })

  it('lets the mediation count list namespaces and pods as the chart ServiceAccount', async () => {
    const tenant: Tenant = {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Tenant',
      metadata: { name: `rbac-${id}` },
      spec: { namespaces: [namespace], providers: [{ name: 'openai', type: 'openai' }] },
    }
    const status = await collectMediation(kc, tenant, attestor)
    expect(status.mediatedPods).toBe(0)
    expect(status.condition.status).toBe('True')
  })

  it('lets the mediation controller list pods cluster-wide and write Tenant status as the chart ServiceAccount', async () => {
    const tenant = {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Tenant',
      metadata: { name: `rbac-ctl-${id}`, labels: { 'tollgate-test': id } },
      spec: { namespaces: [namespace], providers: [{ name: 'openai', type: 'openai' }] },
    }
    await kubectlOK(stack, ['create', '-f', '-'], stringify(tenant))
    const controller = new MediationController({
      kc,
      attestor,
      logger: pino({ level: 'silent' }),
      labelSelector: `tollgate-test=${id}`,
    })
    expect(await controller.syncAll()).toBe(1)
    const stored = JSON.parse(await kubectlOK(stack, ['get', 'tenant', `rbac-ctl-${id}`, '-o', 'json']))
    expect(stored.status.mediatedPods).toBe(0)
  })

  it.each([
    [['patch', 'mutatingwebhookconfigurations/some-other-webhook']],
    [['create', 'pods', '-n', namespace]],
    [['delete', 'namespaces']],
    [['update', 'tenants.tollgate.dev']],
    [['create', 'clusterrolebindings']],
    [['get', 'configmaps', '-n', 'kube-system']],
    [['patch', 'leases.coordination.k8s.io', '-n', 'kube-system']],
    // Secrets: read by name anywhere (granted ones), written and listed only in its own namespace.
    [['list', 'secrets', '--all-namespaces']],
    [['delete', 'secrets', '-n', 'default']],
    [['create', 'secrets', '-n', 'default']],
    [['list', 'replicasets.apps', '--all-namespaces']],
    [['delete', 'jobs.batch', '-n', 'default']],
  ])('does not allow %j', async (args) => {
    expect(await canI(...args)).toBe('no')
  })

  it.each([
    [['create', 'tokenreviews.authentication.k8s.io']],
    [['create', 'subjectaccessreviews.authorization.k8s.io']],
    [['get', 'pods', '-n', 'default']],
    [['watch', 'credentialgrants.tollgate.dev', '--all-namespaces']],
    [['get', 'secrets', '-n', 'default']],
    [['list', 'secrets', '-n', namespace]],
    [['create', 'secrets', '-n', namespace]],
    [['get', `deployments.apps/${fullname}`, '-n', namespace]],
    [['patch', 'tenants.tollgate.dev/status']],
    [['update', 'leases.coordination.k8s.io', '-n', namespace]],
    [['update', `mutatingwebhookconfigurations/${fullname}`]],
    // the webhook names a pod's workload through its ReplicaSet or Job
    [['get', 'replicasets.apps', '-n', 'default']],
    [['get', 'jobs.batch', '-n', 'default']],
  ])('allows %j', async (args) => {
    expect(await canI(...args)).toBe('yes')
  })
})
