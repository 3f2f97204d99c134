import { randomBytes } from 'node:crypto'
import { tenantAclUser } from '@tollgate/api'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { stringify } from 'yaml'
import type { RedisClusterService } from '../../hack/stack/redis-cluster.ts'
import { startTestOperator, tenantDoc, uniqueName } from '../operator/support.ts'
import { eventually } from '../support/eventually.ts'
import { kubectlOK } from '../support/kubectl.ts'
import { createDatabase } from '../support/postgres.ts'
import { privateRedisCluster } from '../support/redis.ts'

// ACL users are per node: a Redis Cluster shares keys between a master and its replicas, never
// users. The operator (against a cluster of this file's own) sets each tenant's user on every
// node, masters and replicas, and again on a node it sees join or come back without them.
const stack = inject('stack')
const run = `aclnodes-${randomBytes(3).toString('hex')}`
const label = { 'tollgate.dev/test': run }
let cluster: RedisClusterService
let operator: Awaited<ReturnType<typeof startTestOperator>>

beforeAll(async () => {
  const [c, databaseUrl] = await Promise.all([
    privateRedisCluster(),
    createDatabase(stack.databaseUrl, 'aclnodes'),
  ])
  cluster = c
  operator = await startTestOperator({
    kubeconfig: stack.kubeconfig,
    redisUrl: cluster.url,
    redisMode: 'cluster',
    databaseUrl,
    selector: `tollgate.dev/test=${run}`,
    leaseName: run,
  })
})
afterAll(async () => {
  await operator?.stop()
  await cluster?.close()
})

/** hasUser is true when the node at port has the tenant's user (asked as the stack admin). */
const hasUser = async (port: number, tenant: string) =>
  (await cluster.admin(port, 'acl', 'getuser', tenantAclUser(tenant))).trim() !== ''

describe('tenant ACL users on a Redis Cluster', () => {
  it('are on every node, on a node that joins, and on a node back from a crash without its ACL file', async () => {
    const name = uniqueName('acl')
    await kubectlOK(stack, ['apply', '-f', '-'], stringify(tenantDoc(name, label)))
    await eventually(
      async () => (await Promise.all(cluster.nodes.map((n) => hasUser(n.port, name)))).every(Boolean),
      30_000,
      'the user on all six nodes',
    )

    // A new replica joins: the operator learns of it from the slot map and writes the user there.
    const added = await cluster.addNode()
    expect(await hasUser(added.port, name)).toBe(false)
    await eventually(() => hasUser(added.port, name), 30_000, 'the user on the added node')

    // A master crashes, its replica takes over, and it comes back (a replica now) with an ACL file
    // that lost the user: the operator writes it again.
    const master = cluster.nodes[0] as (typeof cluster.nodes)[number]
    await master.kill()
    master.forgetSavedUsers()
    await master.start()
    await cluster.stable()
    await eventually(() => hasUser(master.port, name), 30_000, 'the user on the node back from a crash')
    expect((await Promise.all(cluster.nodes.map((n) => hasUser(n.port, name)))).every(Boolean)).toBe(true)
  })
})
