import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keys, nanoToUsd } from '@tollgate/api'
import { parseFlags, type Sidecar, startSidecar } from '@tollgate/sidecar'
import { Redis } from 'ioredis'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { stringify } from 'yaml'
import { freePort } from '../../hack/stack/process.ts'
import { type FakeProvider, startFakeProvider } from '../fake-provider/fake-provider.ts'
import { eventually, startTestOperator, uniqueName } from '../operator/support.ts'
import { flushUsage } from '../sidecar/harness.ts'
import { kubectl, kubectlOK } from '../support/kubectl.ts'
import { createDatabase } from '../support/postgres.ts'
import { injectionWebhookConfiguration } from '../support/webhook-configuration.ts'

// The whole path a platform team relies on: kubectl apply → operator (signed config to Redis, the
// tenant's Redis user) → a pod created through the API server, injected by the operator's webhook
// → its sidecar (started with exactly the injected environment and a token bound to that pod, as
// kubelet would project it) exchanges the token at the operator for the key → the official SDK
// with a placeholder key → the provider gets the real key → usage counted in Redis → operator's
// ledger → spend in Tenant.status and `kubectl get tenants`. No kubelet runs: the test plays its part.

const stack = inject('stack')
const id = uniqueName('e2e')
const appNamespace = `${id}-app`
const systemNamespace = `${id}-system`
const REAL_KEY = 'sk-e2e-real-key-4f1c9a'
const configName = `${id}-webhook`

let fake: FakeProvider
let operator: Awaited<ReturnType<typeof startTestOperator>>
let sidecar: Sidecar

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: REAL_KEY })
  const port = await freePort()
  // What the chart's ConfigMap holds: the sidecar image and the Redis it talks to (no credentials).
  const injectionConfigFile = join(await mkdtemp(join(tmpdir(), 'tollgate-e2e-')), 'injection.yaml')
  await writeFile(
    injectionConfigFile,
    stringify({ image: 'tollgate-sidecar:e2e', redis: { url: stack.redisSidecarUrl } }),
  )
  await kubectlOK(
    stack,
    ['create', '-f', '-'],
    stringify(injectionWebhookConfiguration(configName, port, { 'tollgate-e2e': id })),
  )
  operator = await startTestOperator({
    kubeconfig: stack.kubeconfig,
    redisUrl: stack.redisUrl,
    databaseUrl: await createDatabase(stack.databaseUrl, 'e2e'),
    selector: `tollgate.dev/test=${id}`,
    leaseName: id,
    namespace: systemNamespace,
    usageIntervalMs: 200,
    webhook: { port, webhookConfigName: configName, injectionConfigFile },
  })
})

afterAll(async () => {
  await sidecar?.shutdown(500)
  await operator?.stop()
  await fake?.close()
  await kubectl(stack, ['delete', 'mutatingwebhookconfiguration', configName, '--ignore-not-found'])
})

describe('a governed call, end to end', () => {
  it('is configured by kubectl apply, mediated by the sidecar, and billed in the tenant status', async () => {
    const manifests = [
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: appNamespace, labels: { 'tollgate.dev/inject': 'enabled', 'tollgate-e2e': id } },
      },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'chat', namespace: appNamespace } },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'openai-key', namespace: systemNamespace },
        stringData: { apiKey: REAL_KEY },
      },
      {
        apiVersion: 'tollgate.dev/v1alpha1',
        kind: 'Tenant',
        metadata: { name: id, labels: { 'tollgate.dev/test': id } },
        spec: {
          tier: 'pro',
          namespaces: [appNamespace],
          providers: [
            {
              name: 'openai',
              type: 'openai',
              baseURL: fake.url,
              credentialsSecretRef: { namespace: systemNamespace, name: 'openai-key', key: 'apiKey' },
              // The fake's control headers (the audio call below), which the allow-list keeps back.
              forwardHeaders: ['x-fake-*'],
            },
          ],
          budgets: [{ period: 'day', limitUSD: '10' }],
        },
      },
    ]
    await kubectlOK(stack, ['apply', '-f', '-'], manifests.map((m) => stringify(m)).join('---\n'))
    await kubectlOK(stack, ['wait', '--for=condition=Ready', `tenant/${id}`, '--timeout=30s'])

    // The app's pod, through the API server: the webhook injects it (failurePolicy Fail: or not at
    // all). Its cache may see the tenant turn Ready a moment after the API server did.
    const podYaml = stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'chat', namespace: appNamespace },
      spec: { serviceAccountName: 'chat', containers: [{ name: 'app', image: 'example.com/chat:1' }] },
    })
    await eventually(async () => (await kubectl(stack, ['create', '-f', '-'], podYaml)).code === 0, 10_000)
    const pod = JSON.parse(await kubectlOK(stack, ['get', 'pod', '-n', appNamespace, 'chat', '-o', 'json']))
    const [container] = pod.spec.initContainers
    expect(container.name).toBe('tollgate-sidecar')
    // kubelet's part: the projected token, bound to this pod, of audience tollgate.dev.
    const token = await kubectlOK(stack, [
      'create',
      'token',
      'chat',
      '-n',
      appNamespace,
      '--audience=tollgate.dev',
      '--bound-object-kind=Pod',
      '--bound-object-name=chat',
      `--bound-object-uid=${pod.metadata.uid}`,
    ])
    const tokenFile = join(await mkdtemp(join(tmpdir(), 'tollgate-e2e-token-')), 'token')
    await writeFile(tokenFile, token.trim())
    const env = Object.fromEntries(
      (container.env as { name: string; value: string }[]).map((e) => [e.name, e.value]),
    )
    const options = parseFlags([], {
      ...env,
      TOLLGATE_TOKEN_FILE: tokenFile,
      TOLLGATE_LISTEN: '127.0.0.1:0',
      TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0',
      TOLLGATE_LOG_LEVEL: 'warn',
    })
    if (!options) throw new Error('the sidecar refused the injected environment')
    sidecar = await startSidecar(options, {}, { write: () => true })
    await sidecar.config.loaded

    const client = new OpenAI({
      apiKey: 'placeholder',
      baseURL: `${sidecar.proxyUrl}/openai/v1`,
      maxRetries: 0,
    })
    const answer = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'end to end' }],
    })
    expect(answer.choices[0]?.message.content).toBeTruthy()
    expect(fake.requests.at(-1)?.headers.authorization).toBe(`Bearer ${REAL_KEY}`)
    // The key is in the operator's namespace and the sidecar's memory, and nowhere in the app's.
    expect((await kubectlOK(stack, ['get', 'secrets', '-n', appNamespace, '-o', 'name'])).trim()).toBe('')

    // a second call of another usage shape: audio tokens, billed at their own rates
    const audio = await client.chat.completions.create(
      { model: 'gpt-4o-audio-preview', messages: [{ role: 'user', content: 'end to end' }] },
      { headers: { 'x-fake-audio-input-tokens': '1000', 'x-fake-audio-output-tokens': '500' } },
    )

    const prompt = answer.usage?.prompt_tokens ?? 0
    const completion = answer.usage?.completion_tokens ?? 0
    const audioPrompt = audio.usage?.prompt_tokens ?? 0
    const audioCompletion = audio.usage?.completion_tokens ?? 0
    // gpt-4o-mini: $0.15 / $0.60 per million; gpt-4o-audio-preview: text $2.50 / $10, audio $40 / $80
    const cost = nanoToUsd(
      prompt * 150 +
        completion * 600 +
        (audioPrompt - 1000) * 2_500 +
        1000 * 40_000 +
        (audioCompletion - 500) * 10_000 +
        500 * 80_000,
    )
    await flushUsage(sidecar)
    const day = await eventually(
      async () => {
        const tenant = JSON.parse(await kubectlOK(stack, ['get', 'tenant', id, '-o', 'json']))
        const usage = tenant.status?.usage?.find((u: { period: string }) => u.period === 'day')
        return usage?.requests === 2 ? usage : undefined
      },
      20_000,
      'the calls to reach the tenant status',
    )
    expect(day).toMatchObject({
      requests: 2,
      inputTokens: prompt + audioPrompt,
      outputTokens: completion + audioCompletion,
      costUSD: cost,
      limitUSD: '10',
    })

    const row = (await kubectlOK(stack, ['get', 'tenants', id, '--no-headers'])).trim().split(/\s+/)
    expect(row.slice(0, 5)).toEqual([id, 'pro', cost, '10', 'True'])
  })

  it("keeps following the Tenant after Redis lost the tenant's data, under load", async () => {
    const client = new OpenAI({
      apiKey: 'placeholder',
      baseURL: `${sidecar.proxyUrl}/openai/v1`,
      maxRetries: 0,
    })
    const ask = () =>
      client.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'load' }] })
        .then(
          () => 200,
          (error: { status?: number }) => error.status ?? 0,
        )
    let loading = true
    const statuses: number[] = []
    const load = Promise.all(
      [1, 2, 3].map(async () => {
        while (loading) statuses.push(await ask())
      }),
    )
    try {
      // What a restart without persistence, a failover to an empty replica or a FLUSHALL does to
      // the tenant: every key gone, the version counter too (only this tenant's: Redis is shared).
      const admin = new Redis(stack.redisAdminUrl)
      let cursor = '0'
      do {
        const [next, batch] = await admin.scan(cursor, 'MATCH', `${keys.tenantPrefix(id)}*`, 'COUNT', 500)
        cursor = next
        if (batch.length > 0) await admin.del(...batch)
      } while (cursor !== '0')
      expect(await admin.exists(keys.config(id), keys.configVersion(id))).toBe(0)
      admin.disconnect()

      const changed = Date.now()
      await kubectlOK(stack, ['patch', 'tenant', id, '--type=merge', '-p', '{"spec":{"suspended":true}}'])
      const suspended = await eventually(
        async () => (await ask()) === 403 && Date.now(),
        5_000,
        'the suspension',
      )
      console.log(`the change reached the running sidecar ${suspended - changed} ms after kubectl patch`)
    } finally {
      loading = false
      await load
      await kubectlOK(stack, ['patch', 'tenant', id, '--type=merge', '-p', '{"spec":{"suspended":false}}'])
    }
    // Under load, every call was served or refused as suspended; none failed otherwise.
    expect(new Set(statuses.filter((status) => status !== 200 && status !== 403))).toEqual(new Set())
  })
})
