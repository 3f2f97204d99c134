import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  appPods,
  callFromApp,
  clusterEnv,
  demo,
  eventually,
  type Kube,
  kube,
  pod,
  podsOf,
  redisCli,
} from './support.ts'

// The demo policy says failureMode: open. With its Redis pod gone, a sidecar admits calls against
// local limits instead of failing them; when Redis is back it counts in Redis again by itself.

let k: Kube
beforeAll(async () => {
  k = kube(await clusterEnv())
})
afterAll(async () => {
  await k?.('-n', demo.systemNamespace, 'scale', `statefulset/${demo.release}-redis`, '--replicas=1')
})

describe('the Redis pod goes away', () => {
  it('sidecars keep serving under failureMode open, and recover when Redis is back', async () => {
    await k('-n', demo.systemNamespace, 'scale', `statefulset/${demo.release}-redis`, '--replicas=0')
    await eventually(async () => (await podsOf(k, 'redis')).length === 0, 60_000, 'the Redis pod gone', 500)

    const during = await callFromApp(k, {
      provider: 'openai',
      model: 'gpt-4o-mini',
      count: 3,
      prompt: `outage ${Date.now()}`,
    })
    expect(during.map((r) => r.status)).toEqual([200, 200, 200])
    // A sidecar that cannot reach Redis is still Ready: failing open is its defined behaviour.
    const [app] = await appPods(k)
    const { status } = await pod(k, demo.namespace, app as string)
    expect(status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True')

    await k('-n', demo.systemNamespace, 'scale', `statefulset/${demo.release}-redis`, '--replicas=1')
    await k(
      '-n',
      demo.systemNamespace,
      'rollout',
      'status',
      `statefulset/${demo.release}-redis`,
      '--timeout=120s',
    )
    // The new Redis starts empty, with only the operator's user: the operator writes the tenant
    // users again when it reconnects, the sidecar logs in again as its own, and its next calls are
    // counted there again.
    await eventually(
      async () => {
        const [result] = await callFromApp(k, {
          provider: 'openai',
          model: 'gpt-4o-mini',
          prompt: `back ${Date.now()}`,
        })
        if (result?.status !== 200) throw new Error(`call answered ${result?.status}`)
        return (await redisCli(k, '--scan', '--pattern', `tollgate:v1:{${demo.tenant}}:usage*`)).trim() !== ''
      },
      60_000,
      'usage counted in the new Redis',
      2000,
    )
  })
})
