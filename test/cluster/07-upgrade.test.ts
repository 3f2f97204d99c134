import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'
import type { ClusterStackEnv } from '../../hack/stack/cluster-stack.ts'
import {
  type CallResult,
  callFromApp,
  clusterEnv,
  demo,
  eventually,
  type Kube,
  kube,
  nameOf,
  podsOf,
} from './support.ts'

// `helm upgrade` with a changed value rolls the operator (maxUnavailable 0, so the webhook always
// has an endpoint) while the app keeps calling: the data path never depends on the operator.

let env: ClusterStackEnv
let k: Kube
beforeAll(async () => {
  env = await clusterEnv()
  k = kube(env)
})

const chart = new URL('../../charts/tollgate', import.meta.url).pathname

describe('helm upgrade', () => {
  it('rolls the operator with a changed value, without a failed call', async () => {
    const before = (await podsOf(k, 'operator')).map(nameOf)
    const upgrade = promisify(execFile)(join(env.binDir, 'helm'), [
      '--kubeconfig',
      env.kubeconfig,
      'upgrade',
      demo.release,
      chart,
      '-n',
      demo.systemNamespace,
      '--reuse-values',
      '--set',
      'operator.logLevel=debug',
      '--wait',
      '--timeout=5m',
    ])
    let done = false
    const upgraded = upgrade.finally(() => {
      done = true
    })
    const calls: CallResult[] = []
    for (let i = 0; !done; i++)
      calls.push(
        ...(await callFromApp(k, {
          provider: 'openai',
          model: 'gpt-4o-mini',
          prompt: `during upgrade ${i} ${Date.now()}`,
        })),
      )
    await upgraded
    await k('-n', demo.systemNamespace, 'rollout', 'status', `deployment/${demo.release}`, '--timeout=180s')

    expect(calls.length).toBeGreaterThan(3)
    expect(calls.filter((c) => c.status !== 200)).toEqual([])
    // The rollout is complete once the new pods are ready; an old pod may still be shutting down
    // (the operator exits within 20 s of SIGTERM), so wait for it to be gone.
    const after = await eventually(
      async () => {
        const pods = await podsOf(k, 'operator')
        return pods.some((pod) => before.includes(nameOf(pod))) ? undefined : pods
      },
      60_000,
      'the old operator pods gone',
      500,
    )
    expect(after.length).toBeGreaterThan(0)
    for (const pod of after) expect(pod.spec?.containers[0]?.args).toContain('--log-level=debug')
  })
})
