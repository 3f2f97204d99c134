import { randomBytes } from 'node:crypto'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CoreV1Api, KubeConfig, type V1EnvVar, type V1Pod } from '@kubernetes/client-node'
import type { RedisMode } from '@tollgate/api'
import { type CompiledConfig, channels, keys, signConfig, type Tenant, type TenantSpec } from '@tollgate/api'
import type { Redis } from 'ioredis'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { inject } from 'vitest'
import { stringify } from 'yaml'
import type { StackEnv } from '../../hack/stack/stack.ts'
import {
  generateOperatorKeys,
  type OperatorKeys,
  operatorKeys,
} from '../../operator/src/keys/operator-keys.ts'
import { type RedisClient, redisNodes } from '../../operator/src/redis/redis-client.ts'
import { RedisPasswords } from '../../operator/src/redis/redis-passwords.ts'
import { TenantAclUsers } from '../../operator/src/redis/tenant-acl-users.ts'
import { Attestor } from '../../operator/src/webhook/attestation.ts'
import { injectPod } from '../../operator/src/webhook/inject.ts'
import { DEFAULT_INJECTION_CONFIG } from '../../operator/src/webhook/injection-config.ts'
import type { InjectionTrust } from '../../operator/src/webhook/render.ts'
import { type RunningWebhook, startWebhook } from '../../operator/src/webhook/start-webhook.ts'
import { kubectlOK } from './kubectl.ts'

/** The image the fixture's sidecars are rendered with; nothing pulls it (no kubelet). */
export const TEST_SIDECAR_IMAGE = 'tollgate-sidecar:test'

export interface ExchangeFixtureOptions {
  /** The Tenant's spec, given the operator's namespace; `namespaces` is set to the fixture's app namespace. */
  spec: (operatorNamespace: string) => Omit<TenantSpec, 'namespaces'>
  /** Secrets created in the operator's namespace: name → data. */
  secrets?: Record<string, Record<string, string>>
  /** The Redis URL rendered into the sidecar (no credentials: they come from the exchange). */
  redisUrl: string
  /** Its topology; default the stack's. */
  redisMode?: RedisMode
  /** How long exchanged credentials may be used (default 1h; sidecars refresh after a sixth). */
  exchangeTtlMs?: number
}

/** InjectedPod is a pod the webhook's own code injected, stored by the API server, and its token. */
export interface InjectedPod {
  pod: V1Pod
  /** A file holding a token of audience tollgate.dev bound to the pod, as kubelet projects it. */
  tokenFile: string
  /** The sidecar container's environment, as rendered. */
  sidecarEnv: Record<string, string>
  /** The first app container's environment, as rendered. */
  appEnv: Record<string, string>
}

/**
 * ExchangeFixture is the operator's side of managed mode on the shared stack, with the operator's
 * real code: a Tenant and its namespace, the operator's webhook server (whose /exchange reviews
 * tokens with the real API server), pods injected by the webhook's own render and stored through
 * the API server, tokens bound to them (TokenRequest), the tenant's Redis ACL user, and configs
 * signed with the operator's key. No kubelet runs, so the fixture plays kubelet's part: it writes
 * the projected token to a file.
 */
export interface ExchangeFixture {
  tenant: Tenant
  namespace: string
  operatorNamespace: string
  keys: OperatorKeys
  passwords: RedisPasswords
  attestor: Attestor
  webhook: RunningWebhook
  trust: InjectionTrust
  /**
   * injectedPod renders, stores and tokens a pod of the tenant; `spec` overrides the app's. With
   * `token: false` no token is minted (tokenFile is empty), as where admission forbids it.
   */
  injectedPod(
    name: string,
    spec?: Partial<NonNullable<V1Pod['spec']>>,
    opts?: { token?: boolean },
  ): Promise<InjectedPod>
  /** createPod stores a pod as given (no webhook in the way). */
  createPod(pod: V1Pod): Promise<V1Pod>
  /** token mints a ServiceAccount token bound to a stored pod. */
  token(pod: V1Pod, audience?: string): Promise<string>
  /** writeToken writes a token where a sidecar's --token-file can read it. */
  writeToken(token: string): Promise<string>
  /** ensureAclUser creates the tenant's Redis user on a Redis, as the operator's reconcile does. */
  ensureAclUser(redis: RedisClient | Redis): Promise<void>
  /** storeConfig signs a compiled config with the operator's key, stores it and announces it. */
  storeConfig(redis: RedisClient | Redis, config: CompiledConfig, announce?: boolean): Promise<void>
  /** stopOperator takes the exchange away (once; close() then skips it). */
  stopOperator(): Promise<void>
  close(): Promise<void>
}

const envMap = (env: V1EnvVar[] = []) => Object.fromEntries(env.map((e) => [e.name, e.value ?? '']))

export async function exchangeFixture(
  stack: StackEnv,
  options: ExchangeFixtureOptions,
): Promise<ExchangeFixture> {
  const id = `xf-${randomBytes(3).toString('hex')}`
  const namespace = `${id}-app`
  const operatorNamespace = `${id}-system`
  const kc = new KubeConfig()
  kc.loadFromFile(stack.kubeconfig)
  const core = kc.makeApiClient(CoreV1Api)
  for (const name of [namespace, operatorNamespace])
    await core.createNamespace({ body: { metadata: { name } } })
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'app' } } })
  for (const [name, data] of Object.entries(options.secrets ?? {}))
    await core.createNamespacedSecret({
      namespace: operatorNamespace,
      body: { metadata: { name }, stringData: data },
    })
  const tenant: Tenant = {
    apiVersion: 'tollgate.dev/v1alpha1',
    kind: 'Tenant',
    // Labelled for no test's operator: nothing reconciles it, the fixture plays the operator.
    metadata: { name: id, labels: { 'tollgate.dev/test': `${id}-fixture` } },
    spec: { ...options.spec(operatorNamespace), namespaces: [namespace] },
  }
  await kubectlOK(stack, ['create', '-f', '-'], stringify(tenant))
  const { signingKey, seed } = generateOperatorKeys()
  const keyring = operatorKeys(signingKey, seed)
  const passwords = new RedisPasswords(keyring.derive('redis-acl'), 24 * 3_600_000)
  const attestor = new Attestor(keyring.derive('injection'))
  const webhook = await startWebhook({
    kc,
    host: '127.0.0.1',
    port: 0,
    failurePolicy: 'Ignore',
    certMode: 'operator',
    namespace: operatorNamespace,
    certSecret: 'webhook-cert',
    webhookConfigName: `${id}-none`,
    serviceName: 'tollgate',
    extraIPAddresses: ['127.0.0.1'],
    exchangeURL: 'https://127.0.0.1:1/exchange',
    exchangeTtlMs: options.exchangeTtlMs ?? 3_600_000,
    keys: keyring,
    passwords,
    operatorSecrets: ['tollgate-operator-keys'],
    registry: new Registry(),
    logger: pino({ level: process.env.TOLLGATE_TEST_LOG ?? 'silent' }),
  })
  const trust: InjectionTrust = {
    exchangeURL: `https://127.0.0.1:${webhook.port}/exchange`,
    caBundle: webhook.trust().caBundle,
  }
  const ready: Tenant = {
    ...tenant,
    status: {
      conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: '', lastTransitionTime: '' }],
    },
  }
  const dir = await mkdtemp(join(tmpdir(), `${id}-tokens-`))
  let tokens = 0
  let stopping: Promise<void> | undefined
  const stopOperator = () => {
    stopping ??= webhook.stop()
    return stopping
  }

  const createPod = (pod: V1Pod) => core.createNamespacedPod({ namespace, body: pod })
  const token = async (pod: V1Pod, audience = 'tollgate.dev') =>
    (
      await kubectlOK(stack, [
        'create',
        'token',
        pod.spec?.serviceAccountName ?? 'default',
        '-n',
        namespace,
        `--audience=${audience}`,
        '--bound-object-kind=Pod',
        `--bound-object-name=${pod.metadata?.name}`,
        `--bound-object-uid=${pod.metadata?.uid}`,
        '--duration=10m',
      ])
    ).trim()
  const writeToken = async (text: string) => {
    const file = join(dir, `token-${tokens++}`)
    await writeFile(file, text)
    return file
  }

  return {
    tenant,
    namespace,
    operatorNamespace,
    keys: keyring,
    passwords,
    attestor,
    webhook,
    trust,
    async injectedPod(name, spec = {}, opts = {}) {
      const submitted: V1Pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace },
        spec: {
          serviceAccountName: 'app',
          containers: [{ name: 'app', image: 'example.com/app:1' }],
          ...spec,
        },
      }
      const result = injectPod({
        pod: submitted,
        namespace: { name: namespace, labels: { 'tollgate.dev/inject': 'enabled' } },
        tenants: [ready],
        config: {
          ...DEFAULT_INJECTION_CONFIG,
          image: TEST_SIDECAR_IMAGE,
          redis: { url: options.redisUrl, mode: options.redisMode ?? inject('stack').redisMode },
        },
        trust,
        attestor,
        operator: { namespace: operatorNamespace, names: ['tollgate-operator-keys', 'webhook-cert'] },
      })
      if (!result.decision.inject) throw new Error(`not injected: ${result.decision.message}`)
      const stored = await createPod(result.pod)
      return {
        pod: stored,
        tokenFile: opts.token === false ? '' : await writeToken(await token(stored)),
        sidecarEnv: envMap(result.pod.spec?.initContainers?.[0]?.env),
        appEnv: envMap(result.pod.spec?.containers[0]?.env),
      }
    },
    createPod,
    token,
    writeToken,
    async ensureAclUser(redis) {
      await redis.ping() // a cluster client knows its nodes once connected
      // (a client of the tests' own ioredis is a single node's)
      await new TenantAclUsers(() => redisNodes(redis as RedisClient, 'all'), passwords).ensure(id)
    },
    async storeConfig(redis, config, announce = true) {
      await redis.set(keys.config(id), signConfig(config, keyring.signingKey))
      if (announce) await redis.spublish(channels.config(id), String(config.version))
    },
    stopOperator,
    async close() {
      await stopOperator()
      await kubectlOK(stack, ['delete', 'tenant', id, '--ignore-not-found'])
    },
  }
}
