import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mirroredSecretName, nanoToUsd } from '@tollgate/api'
import { parseFlags, type Sidecar, startSidecar } from '@tollgate/sidecar'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { stringify } from 'yaml'
import { type FakeProvider, startFakeProvider } from '../fake-provider/fake-provider.ts'
import { eventually, startTestOperator, uniqueName } from '../operator/support.ts'
import { kubectlOK } from '../support/kubectl.ts'
import { createDatabase } from '../support/postgres.ts'

// The whole path a platform team relies on, through the Redis contract between the parts:
// kubectl apply → operator (config to Redis, Secret mirrored) → sidecar in managed mode → the
// official SDK with a placeholder key → the provider gets the real key → usage counted in Redis
// → operator's ledger → spend in Tenant.status and `kubectl get tenants`.

const stack = inject('stack')
const id = uniqueName('e2e')
const appNamespace = `${id}-app`
const systemNamespace = `${id}-system`
const REAL_KEY = 'sk-e2e-real-key-4f1c9a'

let fake: FakeProvider
let operator: Awaited<ReturnType<typeof startTestOperator>>
let sidecar: Sidecar

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: REAL_KEY })
  operator = await startTestOperator({
    kubeconfig: stack.kubeconfig,
    redisUrl: stack.redisUrl,
    databaseUrl: await createDatabase(stack.databaseUrl, 'e2e'),
    selector: `tollgate.dev/test=${id}`,
    leaseName: id,
    usageIntervalMs: 200,
  })
})

afterAll(async () => {
  await sidecar?.shutdown(500)
  await operator?.stop()
  await fake?.close()
})

describe('a governed call, end to end', () => {
  it('is configured by kubectl apply, mediated by the sidecar, and billed in the tenant status', async () => {
    const manifests = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: systemNamespace } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: appNamespace } },
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
            },
          ],
          budgets: [{ period: 'day', limitUSD: '10' }],
        },
      },
    ]
    await kubectlOK(stack, ['apply', '-f', '-'], manifests.map((m) => stringify(m)).join('---\n'))
    await kubectlOK(stack, ['wait', '--for=condition=Ready', `tenant/${id}`, '--timeout=30s'])

    // What the webhook mounts into the sidecar: the operator's mirror in the app's namespace.
    const mirror = JSON.parse(
      await kubectlOK(stack, [
        'get',
        'secret',
        '-n',
        appNamespace,
        mirroredSecretName(id, 'openai'),
        '-o',
        'json',
      ]),
    )
    const credentials = await mkdtemp(join(tmpdir(), 'tollgate-e2e-credentials-'))
    await writeFile(join(credentials, 'openai'), Buffer.from(mirror.data.openai, 'base64'))

    const options = parseFlags(
      [
        '--redis',
        stack.redisUrl,
        '--tenant',
        id,
        '--credentials-dir',
        credentials,
        '--namespace',
        appNamespace,
      ],
      { TOLLGATE_LISTEN: '127.0.0.1:0', TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0', TOLLGATE_LOG_LEVEL: 'warn' },
    )
    if (!options) throw new Error('the sidecar refused its flags')
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
    await sidecar.usage.flush()
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
})
