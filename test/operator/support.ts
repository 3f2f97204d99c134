import { randomBytes } from 'node:crypto'
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node'
import {
  type CompiledConfig,
  channels,
  clusterSeed,
  keys,
  type RedisMode,
  type SignedConfig,
} from '@tollgate/api'
import { Cluster, Redis } from 'ioredis'
import { pino } from 'pino'
import { inject } from 'vitest'
import type { RunConfig } from '../../operator/src/cli.ts'
import { runOperator } from '../../operator/src/commands/run.ts'
import { isConflict } from '../../operator/src/runtime/kube.ts'
import { eventually } from '../support/eventually.ts'

/** uniqueName is a DNS label no other test uses: tests share one API server and Redis. */
export const uniqueName = (prefix: string) => `${prefix}-${randomBytes(3).toString('hex')}`

export { eventually, type Truthy } from '../support/eventually.ts'

export interface TestOperatorOptions {
  kubeconfig: string
  redisUrl: string
  /** Default: the stack's (inject('stack').redisMode). */
  redisMode?: RedisMode
  databaseUrl: string
  /** Every test file manages only its own objects: `tollgate.dev/test=<id>`. */
  selector: string
  leaseName: string
  usageIntervalMs?: number
  /**
   * The operator's namespace (its keys Secret, provider Secrets without a grant); created when
   * missing. Default `<leaseName>-system`.
   */
  namespace?: string
  /** Alert hosts allowed over http and at internal addresses (a test's receiver on 127.0.0.1). */
  alertAllowHosts?: string[]
  /**
   * Serve the injection webhook and the credential exchange on this loopback port, for a
   * MutatingWebhookConfiguration named `webhookConfigName` (clientConfig.url).
   */
  webhook?: { port: number; webhookConfigName: string; injectionConfigFile?: string }
  /** Serve the console and analytics API on a loopback port of its own (`consoleUrl`). */
  console?: { auth?: 'token' | 'proxy' }
  /** --end-users-per-hour; default 100. */
  endUsersPerHour?: number
}

/** ensureNamespace creates a namespace unless it exists. */
export async function ensureNamespace(kubeconfig: string, name: string): Promise<void> {
  const kc = new KubeConfig()
  kc.loadFromFile(kubeconfig)
  try {
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } })
  } catch (error) {
    if (!isConflict(error)) throw error
  }
}

/** startTestOperator runs the operator in this process, on loopback port 0, quiet, leading at once. */
export async function startTestOperator(o: TestOperatorOptions) {
  const namespace = o.namespace ?? `${o.leaseName}-system`
  await ensureNamespace(o.kubeconfig, namespace)
  const config: RunConfig = {
    command: 'run',
    kubeconfig: o.kubeconfig,
    redisUrl: o.redisUrl,
    redisMode: o.redisMode ?? inject('stack').redisMode,
    databaseUrl: o.databaseUrl,
    metricsListen: '127.0.0.1:0',
    healthListen: '127.0.0.1:0',
    ...(o.console && {
      console: {
        listen: '127.0.0.1:0',
        auth: o.console.auth ?? 'token',
        proxyHeaders: { user: 'x-forwarded-user', groups: 'x-forwarded-groups' },
      },
    }),
    endUsersPerHour: o.endUsersPerHour ?? 100,
    workers: 4,
    resyncMs: 600_000,
    usageIntervalMs: o.usageIntervalMs ?? 200,
    leaseNamespace: 'default',
    leaseName: o.leaseName,
    leaseDurationMs: 4_000,
    renewDeadlineMs: 3_000,
    retryPeriodMs: 500,
    identity: `${o.leaseName}-${process.pid}`,
    namespace,
    keysSecret: 'tollgate-operator-keys',
    redisPasswordRotationMs: 24 * 3_600_000,
    alertAllowHosts: o.alertAllowHosts ?? [],
    alertTimeoutMs: 2_000,
    alertDefaultAt: [1],
    selector: o.selector,
    migrate: true,
    logLevel: process.env.TOLLGATE_TEST_LOG ?? 'silent',
    ...(o.webhook && {
      webhook: {
        host: '127.0.0.1',
        port: o.webhook.port,
        failurePolicy: 'Fail' as const,
        certMode: 'operator' as const,
        certSecret: 'tollgate-webhook-cert',
        webhookConfigName: o.webhook.webhookConfigName,
        serviceName: 'tollgate',
        namespace,
        extraDNSNames: [],
        extraIPAddresses: ['127.0.0.1'],
        exchangeURL: `https://127.0.0.1:${o.webhook.port}/exchange`,
        exchangeTtlMs: 3_600_000,
        ...(o.webhook.injectionConfigFile && { injectionConfigFile: o.webhook.injectionConfigFile }),
      },
    }),
  }
  const logger = pino({ level: config.logLevel }, pino.destination(2))
  const running = await runOperator(config, logger)
  await eventually(() => running.operator.isLeader, 30_000, 'the operator to lead')
  return running
}

/**
 * watchConfigChannel records the announcements on tenants' config channels. Sharded pub/sub has
 * no patterns, so each tenant's channel is subscribed with `watch(tenant)` before it is needed.
 */
export async function watchConfigChannel(redisUrl: string, redisMode: RedisMode = inject('stack').redisMode) {
  const subscriber =
    redisMode === 'cluster'
      ? new Cluster([clusterSeed(redisUrl).seed], {
          shardedSubscribers: true,
          redisOptions: clusterSeed(redisUrl).options,
        })
      : new Redis(redisUrl)
  const messages: string[] = []
  subscriber.on('smessage', (channel: string) => {
    const tenant = /^tollgate:v1:\{(.+)\}:config:changed$/.exec(channel)?.[1]
    if (tenant) messages.push(tenant)
  })
  return {
    messages,
    watch: async (tenant: string) => {
      await subscriber.ssubscribe(channels.config(tenant))
    },
    count: (tenant: string) => messages.filter((m) => m === tenant).length,
    close: () => subscriber.quit(),
  }
}

/** readConfig reads a tenant's compiled config from Redis (the signed text, unverified). */
export async function readConfig(
  redis: { get(key: string): Promise<string | null> },
  tenant: string,
): Promise<CompiledConfig | undefined> {
  const raw = await redis.get(keys.config(tenant))
  return raw ? (JSON.parse((JSON.parse(raw) as SignedConfig).config) as CompiledConfig) : undefined
}

/** tenantDoc is a small valid Tenant labelled for one test file's operator. */
export function tenantDoc(name: string, label: Record<string, string>, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'tollgate.dev/v1alpha1',
    kind: 'Tenant',
    metadata: { name, labels: label },
    spec: { tier: 'standard', providers: [{ name: 'openai', type: 'openai' }], ...spec },
  }
}
