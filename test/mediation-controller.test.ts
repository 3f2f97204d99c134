import { randomUUID } from 'node:crypto'
import type { V1Pod } from '@kubernetes/client-node'
import { KubeConfig } from '@kubernetes/client-node'
import { pino } from 'pino'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { stringify } from 'yaml'
import { TEST_ATTESTOR, TEST_OPERATOR, TEST_TRUST } from '../operator/src/webhook/fixtures.test-support.ts'
import { injectPod } from '../operator/src/webhook/inject.ts'
import { DEFAULT_INJECTION_CONFIG } from '../operator/src/webhook/injection-config.ts'
import { MediationController } from '../operator/src/webhook/mediation-controller.ts'
import { kubectlOK } from './support/kubectl.ts'

// The loop that owns Tenant.status.mediatedPods and the Mediated condition, on the real API
// server: pods are created and marked Running by hand (no kubelet runs).
const stack = inject('stack')
const id = randomUUID().slice(0, 8)
const tenantName = `med-${id}`
const ns = `med-${id}`
const kc = new KubeConfig()

const tenant = async () => JSON.parse(await kubectlOK(stack, ['get', 'tenant', tenantName, '-o', 'json']))
const mediated = (t: { status?: { conditions?: { type: string; message?: string }[] } }) =>
  t.status?.conditions?.find((c) => c.type === 'Mediated')

/** runningPod stores a pod, injected by the webhook's own code when asked, and marks it Running. */
async function runningPod(name: string, injected: boolean) {
  let pod: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns },
    spec: { containers: [{ name: 'app', image: 'example.com/app:1' }] },
  }
  if (injected) {
    const ready = [
      { type: 'Ready', status: 'True' as const, reason: 'x', message: '', lastTransitionTime: '' },
    ]
    pod = injectPod({
      pod,
      namespace: { name: ns, labels: { 'tollgate.dev/inject': 'enabled' } },
      tenants: [
        {
          apiVersion: 'tollgate.dev/v1alpha1',
          kind: 'Tenant',
          metadata: { name: tenantName },
          spec: { namespaces: [ns], providers: [{ name: 'openai', type: 'openai' }] },
          status: { conditions: ready },
        },
      ],
      config: DEFAULT_INJECTION_CONFIG,
      trust: TEST_TRUST,
      attestor: TEST_ATTESTOR,
      operator: TEST_OPERATOR,
    }).pod
  }
  await kubectlOK(stack, ['create', '-f', '-'], stringify(pod))
  await kubectlOK(stack, [
    'patch',
    'pod',
    '-n',
    ns,
    name,
    '--subresource=status',
    '--type=merge',
    '-p',
    '{"status":{"phase":"Running"}}',
  ])
}

describe('MediationController', () => {
  let controller: MediationController

  beforeAll(async () => {
    kc.loadFromFile(stack.kubeconfig)
    // Only this file's tenant: other test files share the API server.
    controller = new MediationController({
      kc,
      attestor: TEST_ATTESTOR,
      logger: pino({ level: 'silent' }),
      labelSelector: `tollgate-test=${id}`,
    })
    await kubectlOK(stack, ['create', 'namespace', ns])
    await kubectlOK(stack, ['label', 'namespace', ns, 'tollgate.dev/inject=enabled'])
    const t = {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Tenant',
      metadata: { name: tenantName, labels: { 'tollgate-test': id } },
      spec: { namespaces: [ns], providers: [{ name: 'openai', type: 'openai' }] },
    }
    await kubectlOK(stack, ['create', '-f', '-'], stringify(t))
    await runningPod('with-sidecar', true)
  })

  it('writes mediatedPods and a True Mediated condition', async () => {
    await controller.syncAll()
    const t = await tenant()
    expect(t.status.mediatedPods).toBe(1)
    expect(mediated(t)).toMatchObject({ status: 'True', reason: 'AllPodsMediated', observedGeneration: 1 })
  })

  it('writes nothing when nothing changed', async () => {
    const before = (await tenant()).metadata.resourceVersion
    await controller.syncAll()
    expect((await tenant()).metadata.resourceVersion).toBe(before)
  })

  it('turns False and names a running pod without the sidecar, keeping other conditions', async () => {
    const ready = {
      type: 'Ready',
      status: 'True',
      reason: 'Synced',
      message: 'from the reconciler',
      lastTransitionTime: '2026-11-23T00:00:00Z',
    }
    const current = await tenant()
    await kubectlOK(stack, [
      'patch',
      'tenant',
      tenantName,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { conditions: [...current.status.conditions, ready] } }),
    ])
    await runningPod('without-sidecar', false)
    await controller.syncAll()
    const t = await tenant()
    expect(t.status.mediatedPods).toBe(1)
    expect(mediated(t)).toMatchObject({ status: 'False', reason: 'UnmediatedPods' })
    expect(mediated(t)?.message).toContain(`${ns}/without-sidecar`)
    expect(t.status.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject(ready)
  })
})
