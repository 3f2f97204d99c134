import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appPods, clusterEnv, demo, eventually, type Kube, kube, pod, tenant } from './support.ts'

// Tenant.status.mediatedPods counts the pods that call through the sidecar; a pod admitted while
// the webhook could not answer (failurePolicy Ignore) runs without one, and the Mediated condition
// names it.

let k: Kube
let image: string
const stray = `unmediated-${Date.now().toString(36)}`

beforeAll(async () => {
  const env = await clusterEnv()
  k = kube(env)
  image = env.images['sample-app'] as string
})

afterAll(async () => {
  await k?.result('-n', demo.namespace, 'delete', 'pod', stray, '--ignore-not-found', '--wait=false')
  await k?.('-n', demo.systemNamespace, 'scale', `deployment/${demo.release}`, '--replicas=2')
  await k?.('-n', demo.systemNamespace, 'rollout', 'status', `deployment/${demo.release}`, '--timeout=180s')
})

const mediated = async () => {
  const status = (await tenant(k)).status
  return {
    pods: status?.mediatedPods ?? 0,
    condition: status?.conditions?.find((c) => c.type === 'Mediated'),
  }
}

describe('mediation on the real node', () => {
  it('counts the app pods that call through the sidecar', async () => {
    const pods = await appPods(k)
    await eventually(
      async () => (await mediated()).pods === pods.length,
      90_000,
      'mediatedPods to count the app pods',
      1000,
    )
    expect((await mediated()).condition).toMatchObject({ status: 'True' })
  })

  it('reports a pod created while the webhook is down as unmediated, by name', async () => {
    await k('-n', demo.systemNamespace, 'scale', `deployment/${demo.release}`, '--replicas=0')
    await eventually(
      async () =>
        (
          await k.json(
            '-n',
            demo.systemNamespace,
            'get',
            'pods',
            '-l',
            'app.kubernetes.io/component=operator',
          )
        ).items.length === 0,
      120_000,
      'operator pods gone',
      500,
    )
    await k.apply(`apiVersion: v1
kind: Pod
metadata: { name: ${stray}, namespace: ${demo.namespace} }
spec:
  terminationGracePeriodSeconds: 0
  securityContext: { runAsNonRoot: true, runAsUser: 1000 }
  containers:
    - name: app
      image: ${image}
      imagePullPolicy: IfNotPresent
      command: [node, -e, "setInterval(() => {}, 1000)"]
`)
    const { spec } = await pod(k, demo.namespace, stray)
    expect((spec?.initContainers ?? []).map((c) => c.name)).not.toContain('tollgate-sidecar')
    await k('-n', demo.namespace, 'wait', '--for=condition=Ready', `pod/${stray}`, '--timeout=120s')

    await k('-n', demo.systemNamespace, 'scale', `deployment/${demo.release}`, '--replicas=2')
    const condition = await eventually(
      async () => {
        const { condition } = await mediated()
        return condition?.status === 'False' && condition
      },
      120_000,
      'the Mediated condition to turn False',
      1000,
    )
    expect(condition.reason).toBe('UnmediatedPods')
    expect(condition.message).toContain(`${demo.namespace}/${stray}`)
    expect((await mediated()).pods).toBe((await appPods(k)).length)

    await k('-n', demo.namespace, 'delete', 'pod', stray, '--wait=true')
    await eventually(
      async () => (await mediated()).condition?.status === 'True',
      120_000,
      'Mediated to be True again',
      1000,
    )
  })
})
