import { beforeAll, describe, expect, it } from 'vitest'
import {
  appPods,
  callFromApp,
  clusterEnv,
  demo,
  fakeUsage,
  type Kube,
  kube,
  pod,
  providerKeyHash,
  tenantKeyUsage,
} from './support.ts'

// The demo app as `npm run cluster:up` deploys it: a Deployment in an opted-in namespace that knows
// nothing of Tollgate, calling OpenAI and Anthropic with the official SDKs.

let k: Kube
beforeAll(async () => {
  k = kube(await clusterEnv())
})

describe('an app pod on the real node', () => {
  it('gets the native sidecar, and both containers are Ready', async () => {
    const [name] = await appPods(k)
    const { spec, status } = await pod(k, demo.namespace, name as string)
    const sidecar = spec?.initContainers?.find((c) => c.name === 'tollgate-sidecar')
    expect(sidecar).toMatchObject({ restartPolicy: 'Always' })
    expect(status?.initContainerStatuses?.find((s) => s.name === 'tollgate-sidecar')).toMatchObject({
      ready: true,
      started: true,
    })
    expect(status?.containerStatuses?.find((s) => s.name === 'app')).toMatchObject({ ready: true })
    const env = Object.fromEntries((spec?.containers[0]?.env ?? []).map((e) => [e.name, e.value]))
    expect(env).toMatchObject({
      OPENAI_BASE_URL: 'http://127.0.0.1:4141/openai/v1',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:4141/anthropic',
      OPENAI_API_KEY: 'tollgate-placeholder',
    })
  })

  it('reaches the provider through both SDKs, plain and streamed, with the tenant key and never the placeholder', async () => {
    const before = await fakeUsage(k)
    const results = [
      ...(await callFromApp(k, { provider: 'openai', model: 'gpt-4o-mini', prompt: `plain ${Date.now()}` })),
      ...(await callFromApp(k, {
        provider: 'openai',
        model: 'gpt-4o-mini',
        stream: true,
        prompt: `stream ${Date.now()}`,
      })),
      ...(await callFromApp(k, {
        provider: 'anthropic',
        model: 'claude-haiku-4-5',
        prompt: `plain ${Date.now()}`,
      })),
      ...(await callFromApp(k, {
        provider: 'anthropic',
        model: 'claude-haiku-4-5',
        stream: true,
        prompt: `stream ${Date.now()}`,
      })),
    ]
    expect(results.map((r) => [r.provider, r.stream, r.status])).toEqual([
      ['openai', false, 200],
      ['openai', true, 200],
      ['anthropic', false, 200],
      ['anthropic', true, 200],
    ])
    for (const r of results) expect(r.usage?.outputTokens).toBeGreaterThan(0)
    // The fake provider answers 401 to any other key; it counts the keys it was sent by a hash.
    const after = await fakeUsage(k)
    expect(after.keys.map((key) => key.keyHash)).toEqual([providerKeyHash])
    expect(tenantKeyUsage(after).calls - tenantKeyUsage(before).calls).toBeGreaterThanOrEqual(4)
  })

  it('gives the app no provider key: its environment and files hold only the placeholder', async () => {
    const [pod] = await appPods(k)
    const env = await k(
      '-n',
      demo.namespace,
      'exec',
      pod as string,
      '-c',
      'app',
      '--',
      'node',
      '-e',
      'console.log(JSON.stringify(process.env))',
    )
    expect(env).not.toContain(demo.providerKey)
    const volumes = await k(
      '-n',
      demo.namespace,
      'get',
      'pod',
      pod as string,
      '-o',
      'jsonpath={.spec.containers[0].volumeMounts}',
    )
    expect(volumes).not.toMatch(/credential|provider-key/)
  })

  it('refuses a call over the policy limit with a 429 that names the limit', async () => {
    const results = await callFromApp(k, {
      provider: 'openai',
      model: demo.limitedModel,
      count: demo.limitedRequestsPerMinute * 2 + 1,
    })
    const refused = results.filter((r) => r.status === 429)
    // Fixed one-minute windows: at most two windows' worth pass, so at least one call is refused.
    expect(refused.length).toBeGreaterThanOrEqual(1)
    expect(refused[0]?.error?.message).toContain(demo.limitName)
    expect(refused[0]?.headers?.['retry-after']).toMatch(/^\d+$/)
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1)
  })
})
