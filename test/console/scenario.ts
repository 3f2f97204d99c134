import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Anthropic from '@anthropic-ai/sdk'
import { parseFlags, type Sidecar, startSidecar } from '@tollgate/sidecar'
import OpenAI from 'openai'
import pg from 'pg'
import { stringify } from 'yaml'
import { freePort } from '../../hack/stack/process.ts'
import type { StackEnv } from '../../hack/stack/stack.ts'
import { type FakeProvider, startFakeProvider } from '../fake-provider/fake-provider.ts'
import { eventually, startTestOperator, uniqueName } from '../operator/support.ts'
import { kubectl, kubectlOK } from '../support/kubectl.ts'
import { createDatabase } from '../support/postgres.ts'
import { serviceAccountToken } from '../support/service-account-token.ts'
import { injectionWebhookConfiguration } from '../support/webhook-configuration.ts'

/**
 * Scenario is what the console's tests look at, built as a platform team would: an operator with
 * its webhook and console, a Tenant with OpenAI and Anthropic providers (both the fake), a policy
 * that allows one gpt-4o call a minute, a Deployment's pod (ReplicaSet and Pod created through the
 * API server with the owner references its controllers would set) injected by the webhook, its
 * sidecar started with exactly the injected environment, and calls through it with the official
 * SDKs naming end users. A second tenant has no calls; tokens of three users with different RBAC.
 */
export interface Scenario {
  stack: StackEnv
  tenant: string
  other: string
  appNamespace: string
  operator: Awaited<ReturnType<typeof startTestOperator>>
  consoleUrl: string
  sidecar: Sidecar
  fake: FakeProvider
  databaseUrl: string
  /** The workload the webhook named (TOLLGATE_WORKLOAD of the injected sidecar). */
  workload: string
  tokens: {
    /** get on the tenant only. */
    reader: string
    /** get and patch on the tenant. */
    purger: string
    /** get on the other tenant only. */
    outsider: string
  }
  openai: OpenAI
  anthropic: Anthropic
  /** Calls refused by the gpt-4o policy (429). */
  refused: number
  /** waitForLedger resolves once the ledger holds `requests` calls of the tenant. */
  waitForLedger(requests: number): Promise<void>
  /** ledger runs SQL against the operator's database. */
  ledger<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>
  close(): Promise<void>
}

const REAL_KEY = 'sk-console-real-key-9b2e'

export async function startScenario(stack: StackEnv, prefix: string): Promise<Scenario> {
  const id = uniqueName(prefix)
  const appNamespace = `${id}-app`
  const systemNamespace = `${id}-system`
  const configName = `${id}-webhook`
  const other = `${id}-other`
  const fake = await startFakeProvider({ apiKey: REAL_KEY })
  const port = await freePort()
  const injectionConfigFile = join(await mkdtemp(join(tmpdir(), 'tollgate-console-')), 'injection.yaml')
  await writeFile(
    injectionConfigFile,
    stringify({ image: 'tollgate-sidecar:console', redis: { url: stack.redisSidecarUrl } }),
  )
  await kubectlOK(
    stack,
    ['create', '-f', '-'],
    stringify(injectionWebhookConfiguration(configName, port, { 'tollgate-console': id })),
  )
  const databaseUrl = await createDatabase(stack.databaseUrl, 'console')
  const operator = await startTestOperator({
    kubeconfig: stack.kubeconfig,
    redisUrl: stack.redisUrl,
    databaseUrl,
    selector: `tollgate.dev/test=${id}`,
    leaseName: id,
    namespace: systemNamespace,
    usageIntervalMs: 200,
    webhook: { port, webhookConfigName: configName, injectionConfigFile },
    console: {},
  })
  const consoleUrl = operator.operator.consoleUrl as string
  const label = { 'tollgate.dev/test': id }
  const provider = (name: string, type: string) => ({
    name,
    type,
    baseURL: fake.url,
    credentialsSecretRef: { namespace: systemNamespace, name: 'provider-key', key: 'apiKey' },
  })
  const manifests = [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: appNamespace, labels: { 'tollgate.dev/inject': 'enabled', 'tollgate-console': id } },
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'chat', namespace: appNamespace } },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'provider-key', namespace: systemNamespace },
      stringData: { apiKey: REAL_KEY },
    },
    {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Tenant',
      metadata: { name: id, labels: label },
      spec: {
        tier: 'pro',
        namespaces: [appNamespace],
        providers: [provider('openai', 'openai'), provider('anthropic', 'anthropic')],
        budgets: [{ period: 'day', limitUSD: '10' }],
        cache: { enabled: true, ttl: '1h' },
      },
    },
    {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Tenant',
      metadata: { name: other, labels: label },
      spec: { tier: 'free', namespaces: [`${other}-ns`], providers: [provider('openai', 'openai')] },
    },
    {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'RateLimitPolicy',
      metadata: { name: `${id}-gpt4o`, labels: label },
      spec: {
        targetRefs: [{ kind: 'Tenant', name: id }],
        limits: [{ name: 'gpt4o-per-minute', match: { models: ['gpt-4o'] }, requestsPerMinute: 1 }],
        // two provider errors in a row open a model's breaker (the analytics test makes them)
        circuitBreaker: { consecutiveFailures: 2, openFor: '5m', halfOpenProbes: 1, tripOn: ['5xx'] },
        retry: { attempts: 0 },
      },
    },
  ]
  await kubectlOK(stack, ['apply', '-f', '-'], manifests.map((m) => stringify(m)).join('---\n'))
  await kubectlOK(stack, ['wait', '--for=condition=Ready', `tenant/${id}`, '--timeout=30s'])

  // A Deployment's pod as its controllers would create it (no controller manager runs here): the
  // ReplicaSet owned by the Deployment, the Pod by the ReplicaSet, with their real uids.
  const labels = { app: 'chat' }
  const deployment = JSON.parse(
    await kubectlOK(
      stack,
      ['create', '-o', 'json', '-f', '-'],
      stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'chat', namespace: appNamespace },
        spec: {
          replicas: 0,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: 'app', image: 'example.com/chat:1' }] },
          },
        },
      }),
    ),
  )
  const owner = (kind: string, o: { metadata: { name: string; uid: string } }, apiVersion: string) => [
    {
      apiVersion,
      kind,
      name: o.metadata.name,
      uid: o.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ]
  const replicaSet = JSON.parse(
    await kubectlOK(
      stack,
      ['create', '-o', 'json', '-f', '-'],
      stringify({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: 'chat-5d4f8',
          namespace: appNamespace,
          ownerReferences: owner('Deployment', deployment, 'apps/v1'),
        },
        spec: {
          replicas: 0,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: 'app', image: 'example.com/chat:1' }] },
          },
        },
      }),
    ),
  )
  const podYaml = stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'chat-5d4f8-x2k9q',
      namespace: appNamespace,
      labels,
      ownerReferences: owner('ReplicaSet', replicaSet, 'apps/v1'),
    },
    spec: { serviceAccountName: 'chat', containers: [{ name: 'app', image: 'example.com/chat:1' }] },
  })
  await eventually(async () => (await kubectl(stack, ['create', '-f', '-'], podYaml)).code === 0, 10_000)
  const pod = JSON.parse(
    await kubectlOK(stack, ['get', 'pod', '-n', appNamespace, 'chat-5d4f8-x2k9q', '-o', 'json']),
  )
  const [container] = pod.spec.initContainers
  const env = Object.fromEntries(
    (container.env as { name: string; value: string }[]).map((e) => [e.name, e.value]),
  )
  const token = await kubectlOK(stack, [
    'create',
    'token',
    'chat',
    '-n',
    appNamespace,
    '--audience=tollgate.dev',
    '--bound-object-kind=Pod',
    `--bound-object-name=${pod.metadata.name}`,
    `--bound-object-uid=${pod.metadata.uid}`,
  ])
  const tokenFile = join(await mkdtemp(join(tmpdir(), 'tollgate-console-token-')), 'token')
  await writeFile(tokenFile, token.trim())
  const options = parseFlags([], {
    ...env,
    TOLLGATE_TOKEN_FILE: tokenFile,
    TOLLGATE_LISTEN: '127.0.0.1:0',
    TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0',
    TOLLGATE_LOG_LEVEL: 'warn',
  })
  if (!options) throw new Error('the sidecar refused the injected environment')
  const sidecar = await startSidecar(options, {}, { write: () => true })
  await sidecar.config.loaded

  const tokens = {
    reader: await serviceAccountToken(stack, `${id}-reader`, [
      { apiGroups: ['tollgate.dev'], resources: ['tenants'], resourceNames: [id], verbs: ['get'] },
    ]),
    purger: await serviceAccountToken(stack, `${id}-purger`, [
      { apiGroups: ['tollgate.dev'], resources: ['tenants'], resourceNames: [id], verbs: ['get', 'patch'] },
    ]),
    outsider: await serviceAccountToken(stack, `${id}-outsider`, [
      { apiGroups: ['tollgate.dev'], resources: ['tenants'], resourceNames: [other], verbs: ['get'] },
    ]),
  }

  const openai = new OpenAI({
    apiKey: 'placeholder',
    baseURL: `${sidecar.proxyUrl}/openai/v1`,
    maxRetries: 0,
  })
  const anthropic = new Anthropic({
    apiKey: 'placeholder',
    baseURL: `${sidecar.proxyUrl}/anthropic`,
    maxRetries: 0,
  })
  const ask = {
    model: 'gpt-4o-mini',
    messages: [{ role: 'user' as const, content: 'what does the console show?' }],
  }
  // alice twice with the same request: the second is a cache hit
  await openai.chat.completions.create({ ...ask, user: 'alice' })
  await openai.chat.completions.create({ ...ask, user: 'alice' })
  await openai.chat.completions.create({
    ...ask,
    messages: [{ role: 'user', content: 'another' }],
    safety_identifier: 'bob',
  })
  await anthropic.messages.create({
    model: 'claude-3-5-haiku-latest',
    max_tokens: 64,
    messages: [{ role: 'user', content: 'hello from the console test' }],
    metadata: { user_id: 'carol' },
  })
  // one gpt-4o call a minute: the second is refused by the policy's limit
  let refused = 0
  for (const content of ['first', 'second']) {
    await openai.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content }] })
      .catch((error: { status?: number }) => {
        if (error.status !== 429) throw error
        refused++
      })
  }
  await sidecar.usage.flush()

  const db = new pg.Pool({ connectionString: databaseUrl, max: 2 })
  const ledger = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) =>
    (await db.query<R>(sql, params)).rows
  const waitForLedger = async (requests: number) => {
    await sidecar.usage.flush()
    await eventually(
      async () => {
        const [row] = await ledger<{ n: number }>(
          'SELECT coalesce(sum(requests), 0)::int AS n FROM usage_hourly WHERE tenant = $1',
          [id],
        )
        return row?.n === requests
      },
      20_000,
      `${requests} calls in the ledger`,
    )
  }
  await waitForLedger(6)

  return {
    stack,
    tenant: id,
    other,
    appNamespace,
    operator,
    consoleUrl,
    sidecar,
    fake,
    databaseUrl,
    workload: env.TOLLGATE_WORKLOAD ?? '',
    tokens,
    openai,
    anthropic,
    refused,
    waitForLedger,
    ledger,
    async close() {
      await sidecar.shutdown(500)
      await operator.stop()
      await fake.close()
      await db.end()
      await kubectl(stack, ['delete', 'mutatingwebhookconfiguration', configName, '--ignore-not-found'])
    },
  }
}
