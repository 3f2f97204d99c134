import type { KubernetesObject } from '@kubernetes/client-node'
import { beforeAll, describe, expect, it } from 'vitest'
import type { ClusterStackEnv } from '../../hack/stack/cluster-stack.ts'
import { helm } from '../../hack/stack/cluster-stack.ts'
import { clusterEnv, demo, eventually, type Kube, kube, nameOf } from './support.ts'

// Last of the cluster's files (they run in name order): the clean-up the walkthrough documents,
// then a search of every resource type the API server serves for anything of Tollgate.

let env: ClusterStackEnv
let k: Kube
beforeAll(async () => {
  env = await clusterEnv()
  k = kube(env)
})

/** isTollgate says whether an object belongs to Tollgate: by its labels, annotations, finalizers, name or kind. */
const isTollgate = (o: KubernetesObject) => {
  const marks = [
    ...Object.keys(o.metadata?.labels ?? {}),
    ...Object.keys(o.metadata?.annotations ?? {}),
    ...(o.metadata?.finalizers ?? []),
  ]
  return (
    marks.some((m) => m.startsWith('tollgate.dev/')) ||
    o.metadata?.labels?.['app.kubernetes.io/part-of'] === 'tollgate' ||
    o.metadata?.labels?.['app.kubernetes.io/instance'] === demo.release ||
    /^tollgate/.test(o.metadata?.name ?? '') ||
    (o.apiVersion ?? '').startsWith('tollgate.dev/')
  )
}

describe('helm uninstall', () => {
  it('with the CRDs removed, leaves no Tollgate object behind', async () => {
    await k('delete', '-n', demo.namespace, `deployment/${demo.app}`, '--wait=true')
    await k(
      'delete',
      `ratelimitpolicy/${demo.policy}`,
      `tenant/${demo.tenant}`,
      '--wait=true',
      '--timeout=120s',
    )
    // The demo's console sign-in (hack/stack/demo.ts) is the demo's to remove, as the rest of it.
    await k('delete', 'clusterrolebinding,clusterrole', 'tollgate-console-admin', '--wait=true')
    await k('delete', '-n', demo.systemNamespace, `serviceaccount/${demo.consoleUser}`, '--wait=true')
    helm(env.binDir, env.kubeconfig, [
      'uninstall',
      demo.release,
      '-n',
      demo.systemNamespace,
      '--wait',
      '--timeout=5m',
    ])
    await k('delete', 'crd', 'tenants.tollgate.dev', 'ratelimitpolicies.tollgate.dev', '--wait=true')

    const kinds = (await k('api-resources', '--verbs=list', '-o', 'name'))
      .split('\n')
      // Events expire by themselves; namespaces are the user's (their tollgate.dev/inject label too).
      .filter((kind) => kind && !/^(events(\.events\.k8s\.io)?|componentstatuses|namespaces)$/.test(kind))
    const left = await eventually(
      async () => {
        const found: string[] = []
        for (const kind of kinds) {
          const list = await k.json('get', kind, '--all-namespaces', '--ignore-not-found')
          for (const o of list.items ?? [])
            if (isTollgate(o)) found.push(`${kind} ${o.metadata?.namespace ?? ''}/${nameOf(o)}`)
        }
        // Objects being deleted may linger a moment (garbage collection of pods, for one).
        if (found.length === 0) return []
        console.log(`still there: ${found.join(', ')}`)
        return false
      },
      120_000,
      'every Tollgate object to be gone',
      2000,
    )
    expect(left).toEqual([])
  })
})
