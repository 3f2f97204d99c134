import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { stringify } from 'yaml'
import { type ControlPlane, startControlPlane } from '../../hack/stack/control-plane.ts'
import type { StackEnv } from '../../hack/stack/stack.ts'
import { kubectlOK } from '../support/kubectl.ts'
import { createDatabase } from '../support/postgres.ts'
import { eventually, readConfig, startTestOperator, tenantDoc, uniqueName } from './support.ts'

const stack = inject('stack')
const run = uniqueName('apirestart')
const label = { 'tollgate.dev/test': run }
const dir = mkdtempSync(join(tmpdir(), 'tollgate-apirestart-'))
const crds = new URL('../../crds', import.meta.url).pathname

let controlPlane: ControlPlane
let privateStack: StackEnv
let operator: Awaited<ReturnType<typeof startTestOperator>>
let redis: Redis

beforeAll(async () => {
  controlPlane = await startControlPlane({ dir: join(dir, 'kube'), binDir: stack.binDir })
  privateStack = { ...stack, kubeconfig: controlPlane.kubeconfig, apiServerURL: controlPlane.url }
  await kubectlOK(privateStack, ['apply', '--server-side', '-f', crds])
  await kubectlOK(privateStack, ['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all'])
  redis = new Redis(stack.redisUrl)
  operator = await startTestOperator({
    kubeconfig: controlPlane.kubeconfig,
    redisUrl: stack.redisUrl,
    databaseUrl: await createDatabase(stack.databaseUrl, 'apirestart'),
    selector: `tollgate.dev/test=${run}`,
    leaseName: run,
  })
}, 180_000)

afterAll(async () => {
  await operator?.stop()
  redis?.disconnect()
  await controlPlane?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('an API server restart', () => {
  it('is survived: changes made once it is back are applied', async () => {
    const kept = uniqueName('kept')
    const changed = uniqueName('changed')
    const added = uniqueName('added')
    await kubectlOK(
      privateStack,
      ['apply', '-f', '-'],
      [tenantDoc(kept, label), tenantDoc(changed, label)].map((d) => stringify(d)).join('---\n'),
    )
    await eventually(() => readConfig(redis, kept))
    await eventually(() => readConfig(redis, changed))

    await controlPlane.stop()
    // The watches fail and the leader, unable to renew, steps down until the API server is back.
    await eventually(() => !operator.operator.isLeader, 30_000, 'the leader to step down')
    await controlPlane.start()

    await kubectlOK(
      privateStack,
      ['apply', '-f', '-'],
      [tenantDoc(changed, label, { tier: 'enterprise' }), tenantDoc(added, label)]
        .map((d) => stringify(d))
        .join('---\n'),
    )
    await kubectlOK(privateStack, ['delete', 'tenant', kept, '--wait=false'])

    const after = await eventually(
      async () => {
        const c = await readConfig(redis, changed)
        return c?.tier === 'enterprise' && c
      },
      60_000,
      'the change made after the restart',
    )
    expect(after.version).toBe(2)
    expect((await eventually(() => readConfig(redis, added), 30_000)).version).toBe(1)
    await eventually(async () => (await readConfig(redis, kept)) === undefined, 30_000, 'the deletion')
    // The finalizer goes once clean-up is done, and the API server then removes the Tenant.
    await eventually(
      () =>
        execFileSync(join(stack.binDir, 'kubectl'), [
          '--kubeconfig',
          controlPlane.kubeconfig,
          'get',
          'tenant',
          kept,
          '--ignore-not-found',
          '-o',
          'name',
        ]).toString() === '',
      30_000,
      'the Tenant to be gone',
    )
    expect(operator.operator.isLeader).toBe(true)
  }, 180_000)
})
