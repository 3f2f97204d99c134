import type { V1Lease } from '@kubernetes/client-node'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  callFromApp,
  clusterEnv,
  demo,
  eventually,
  expectSpendAsServed,
  type Kube,
  kube,
  nameOf,
  podsOf,
  psql,
} from './support.ts'

// Two operator replicas: one leads through a Lease, the other waits. Deleting the leader's pod
// hands over within the lease duration (15 s, the chart's default), and the new leader writes
// nothing the old one wrote already.

let k: Kube
beforeAll(async () => {
  k = kube(await clusterEnv())
})

const LEASE_DURATION_MS = 15_000

const holder = async () =>
  (await k.json<V1Lease>('-n', demo.systemNamespace, 'get', 'lease', demo.release)).spec?.holderIdentity

describe('leader election on the real node', () => {
  it('hands over within the lease duration when the leader pod is deleted, and nothing is written twice', async () => {
    await k('-n', demo.systemNamespace, 'rollout', 'status', `deployment/${demo.release}`, '--timeout=180s')
    const leader = await eventually(holder, 60_000, 'a leader', 500)
    const operators = (await podsOf(k, 'operator')).map(nameOf)
    expect(operators).toContain(leader)
    const ledgerBefore = await psql(
      k,
      `SELECT sum(requests), count(*) FROM usage_hourly WHERE tenant = '${demo.tenant}'`,
    )

    const deletedAt = Date.now()
    await k('-n', demo.systemNamespace, 'delete', 'pod', leader, '--wait=false')
    // Another replica: the one that waited, or the pod the Deployment made in the leader's place
    // (both campaign once the old leader released the lease on its way out).
    let seen: { holder: string | undefined; pods: string[] } = { holder: leader, pods: operators }
    const successor = await eventually(
      async () => {
        seen = { holder: await holder(), pods: (await podsOf(k, 'operator')).map(nameOf) }
        const now = seen.holder
        return now && now !== leader && seen.pods.includes(now) && now
      },
      LEASE_DURATION_MS * 2,
      'another replica to take the lease',
      200,
    ).catch((error: Error) => {
      throw new Error(`${error.message}: the lease is held by ${seen.holder}, operator pods ${seen.pods}`)
    })
    const handover = Date.now() - deletedAt
    console.log(`leader ${leader} -> ${successor} in ${handover} ms`)
    expect(handover).toBeLessThan(LEASE_DURATION_MS)

    // The successor carries on: a new call reaches the ledger once, and no row was duplicated.
    const [call] = await callFromApp(k, {
      provider: 'openai',
      model: 'gpt-4o-mini',
      prompt: `after handover ${Date.now()}`,
    })
    expect(call?.status).toBe(200)
    const [sumBefore] = ledgerBefore[0] as string[]
    const after = await eventually(
      async () => {
        const [row] = await psql(
          k,
          `SELECT sum(requests), count(*), count(DISTINCT (hour, provider, model, namespace, workload, end_user)) FROM usage_hourly WHERE tenant = '${demo.tenant}'`,
        )
        return Number(row?.[0]) > Number(sumBefore) && row
      },
      60_000,
      'the call in the ledger',
      1000,
    )
    expect(after[1]).toBe(after[2])
    await expectSpendAsServed(k)
  })
})
