import type { AppsV1Api, BatchV1Api, V1OwnerReference, V1Pod } from '@kubernetes/client-node'
import { describe, expect, it } from 'vitest'
import { WorkloadOwner } from './workload-owner.ts'

const ref = (kind: string, name: string, uid: string, apiVersion = 'apps/v1'): V1OwnerReference => ({
  apiVersion,
  kind,
  name,
  uid,
  controller: true,
})
const pod = (owner?: V1OwnerReference): V1Pod => ({
  metadata: { name: 'p-1', ...(owner && { ownerReferences: [owner] }) },
})
// What the API server holds: a ReplicaSet of a Deployment, a Job of a CronJob, a Job on its own.
const objects: Record<string, { uid: string; owner?: V1OwnerReference }> = {
  'replicaset/web-7f': { uid: 'rs-1', owner: ref('Deployment', 'web', 'd-1') },
  'replicaset/lonely': { uid: 'rs-2' },
  'job/nightly-29': { uid: 'j-1', owner: ref('CronJob', 'nightly', 'cj-1', 'batch/v1') },
  'job/once': { uid: 'j-2' },
}
const read =
  (kind: string) =>
  async ({ name }: { name: string }) => {
    const o = objects[`${kind}/${name}`]
    if (!o) throw Object.assign(new Error('not found'), { code: 404 })
    return { metadata: { uid: o.uid, ...(o.owner && { ownerReferences: [o.owner] }) } }
  }
const owner = new WorkloadOwner(
  { readNamespacedReplicaSet: read('replicaset') } as unknown as AppsV1Api,
  { readNamespacedJob: read('job') } as unknown as BatchV1Api,
)

describe('WorkloadOwner', () => {
  it.each([
    ['a Deployment through its ReplicaSet', ref('ReplicaSet', 'web-7f', 'rs-1'), 'deployment/web'],
    ['a ReplicaSet no Deployment owns', ref('ReplicaSet', 'lonely', 'rs-2'), 'replicaset/lonely'],
    ['a StatefulSet directly', ref('StatefulSet', 'db', 's-1'), 'statefulset/db'],
    ['a DaemonSet directly', ref('DaemonSet', 'agent', 'ds-1'), 'daemonset/agent'],
    ['a CronJob through its Job', ref('Job', 'nightly-29', 'j-1', 'batch/v1'), 'cronjob/nightly'],
    ['a Job on its own', ref('Job', 'once', 'j-2', 'batch/v1'), 'job/once'],
    [
      'not the ReplicaSet it names (another uid): only the direct owner',
      ref('ReplicaSet', 'web-7f', 'forged'),
      'replicaset/web-7f',
    ],
    ['a ReplicaSet that is gone: the direct owner', ref('ReplicaSet', 'gone', 'rs-9'), 'replicaset/gone'],
    ['no owner: the pod', undefined, 'pod/p-1'],
  ])('names %s', async (_, reference, expected) => {
    expect(await owner.of(pod(reference), 'ns')).toBe(expected)
  })
})
