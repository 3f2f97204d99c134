import { type ChildProcess, spawn } from 'node:child_process'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { stringify } from 'yaml'
import { kubectlOK } from '../support/kubectl.ts'
import { createDatabase } from '../support/postgres.ts'
import { metricsToken } from '../support/service-account-token.ts'
import { eventually, readConfig, tenantDoc, uniqueName } from './support.ts'

const stack = inject('stack')
const run = uniqueName('leader')
const label = { 'tollgate.dev/test': run }

interface Replica {
  identity: string
  child: ChildProcess
  metricsUrl: Promise<string>
  exited: Promise<number | null>
}

/** replica starts a real operator process; its metrics address comes from its start log line. */
function replica(identity: string, databaseUrl: string): Replica {
  const child = spawn(
    'node_modules/.bin/node',
    [
      'operator/src/main.ts',
      '--kubeconfig',
      stack.kubeconfig,
      '--redis',
      stack.redisUrl,
      '--database',
      databaseUrl,
      '--metrics-listen',
      '127.0.0.1:0',
      '--health-listen',
      '127.0.0.1:0',
      '--lease-namespace',
      'default',
      '--namespace',
      'default',
      '--lease-name',
      run,
      '--identity',
      identity,
      '--lease-duration',
      '4s',
      '--renew-deadline',
      '3s',
      '--retry-period',
      '500ms',
      '--selector',
      `tollgate.dev/test=${run}`,
      '--owner-deployment',
      run,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  const metricsUrl = new Promise<string>((resolve) => {
    let buffer = ''
    child.stderr?.on('data', (chunk) => {
      buffer += chunk
      const match = /"metrics":"(http:\/\/[^"]+)"/.exec(buffer)
      if (match) resolve(match[1] as string)
    })
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { identity, child, metricsUrl, exited }
}

const leaseObject = async () =>
  JSON.parse(await kubectlOK(stack, ['-n', 'default', 'get', 'lease', run, '-o', 'json']))
const lease = async () =>
  (await leaseObject()).spec as {
    holderIdentity?: string
    renewTime?: string
    leaseTransitions?: number
  }
let scrapeToken: string
const leaderGauge = async (r: Replica) => {
  const response = await fetch(`${await r.metricsUrl}/metrics`, {
    headers: { authorization: `Bearer ${scrapeToken}` },
  })
  const text = await response.text()
  return Number(/^tollgate_operator_leader (\d+)/m.exec(text)?.[1])
}

let redis: Redis
let replicas: Replica[] = []

/** The replicas' Deployment, as the chart names it with --owner-deployment (nothing runs it here). */
const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: run, namespace: 'default' },
  spec: {
    replicas: 0,
    selector: { matchLabels: label },
    template: {
      metadata: { labels: label },
      spec: { containers: [{ name: 'operator', image: 'tollgate-operator' }] },
    },
  },
}

beforeAll(async () => {
  scrapeToken = await metricsToken(stack)
  redis = new Redis(stack.redisUrl)
  await kubectlOK(stack, ['apply', '-f', '-'], stringify(deployment))
  const databaseUrl = await createDatabase(stack.databaseUrl, 'leader')
  replicas = [replica(`${run}-a`, databaseUrl), replica(`${run}-b`, databaseUrl)]
})

afterAll(async () => {
  for (const r of replicas) if (r.child.exitCode === null) r.child.kill('SIGKILL')
  redis?.disconnect()
})

describe('two operator replicas', () => {
  it('elect one leader; killing it hands over to the other, which then applies changes', async () => {
    const holder = await eventually(async () => (await lease()).holderIdentity, 60_000, 'a leader')
    const leader = replicas.find((r) => r.identity === holder) as Replica
    const standby = replicas.find((r) => r.identity !== holder) as Replica
    // Owned by the Deployment, the Lease goes with it (helm uninstall) instead of staying behind.
    const uid = JSON.parse(await kubectlOK(stack, ['-n', 'default', 'get', 'deployment', run, '-o', 'json']))
      .metadata.uid
    expect((await leaseObject()).metadata.ownerReferences).toEqual([
      { apiVersion: 'apps/v1', kind: 'Deployment', name: run, uid },
    ])
    expect((await lease()).renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
    await eventually(async () => (await leaderGauge(leader)) === 1, 20_000, 'the leader gauge')
    expect(await leaderGauge(standby)).toBe(0)

    const name = uniqueName('ha')
    await kubectlOK(stack, ['apply', '-f', '-'], stringify(tenantDoc(name, label)))
    expect((await eventually(() => readConfig(redis, name), 30_000)).version).toBe(1)

    const transitions = (await lease()).leaseTransitions ?? 0
    leader.child.kill('SIGKILL')
    await leader.exited
    await eventually(async () => (await lease()).holderIdentity === standby.identity, 30_000, 'the handover')
    expect((await lease()).leaseTransitions).toBe(transitions + 1)
    await eventually(async () => (await leaderGauge(standby)) === 1, 20_000, 'the new leader gauge')

    await kubectlOK(stack, ['apply', '-f', '-'], stringify(tenantDoc(name, label, { tier: 'pro' })))
    const updated = await eventually(async () => {
      const c = await readConfig(redis, name)
      return c?.tier === 'pro' && c
    }, 30_000)
    expect(updated.version).toBe(2)

    // A graceful stop releases the lease, so a successor need not wait for it to expire.
    standby.child.kill('SIGTERM')
    expect(await standby.exited).toBe(0)
    expect((await lease()).holderIdentity ?? '').toBe('')
  }, 180_000)
})
