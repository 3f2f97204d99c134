import { randomBytes } from 'node:crypto'
import { CONFIG_CHANNEL, type CompiledConfig, keys } from '@tollgate/api'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import type { RunConfig } from '../../operator/src/cli.ts'
import { runOperator } from '../../operator/src/commands/run.ts'
import { eventually } from '../support/eventually.ts'

/** uniqueName is a DNS label no other test uses: tests share one API server and Redis. */
export const uniqueName = (prefix: string) => `${prefix}-${randomBytes(3).toString('hex')}`

export { eventually, type Truthy } from '../support/eventually.ts'

export interface TestOperatorOptions {
  kubeconfig: string
  redisUrl: string
  databaseUrl: string
  /** Every test file manages only its own objects: `tollgate.dev/test=<id>`. */
  selector: string
  leaseName: string
  usageIntervalMs?: number
}

/** startTestOperator runs the operator in this process, on loopback port 0, quiet, leading at once. */
export async function startTestOperator(o: TestOperatorOptions) {
  const config: RunConfig = {
    command: 'run',
    kubeconfig: o.kubeconfig,
    redisUrl: o.redisUrl,
    databaseUrl: o.databaseUrl,
    metricsListen: '127.0.0.1:0',
    healthListen: '127.0.0.1:0',
    workers: 4,
    resyncMs: 600_000,
    usageIntervalMs: o.usageIntervalMs ?? 200,
    leaseNamespace: 'default',
    leaseName: o.leaseName,
    leaseDurationMs: 4_000,
    renewDeadlineMs: 3_000,
    retryPeriodMs: 500,
    identity: `${o.leaseName}-${process.pid}`,
    selector: o.selector,
    migrate: true,
    logLevel: process.env.TOLLGATE_TEST_LOG ?? 'silent',
  }
  const logger = pino({ level: config.logLevel }, pino.destination(2))
  const running = await runOperator(config, logger)
  await eventually(() => running.operator.isLeader, 30_000, 'the operator to lead')
  return running
}

/** ConfigWatch subscribes to CONFIG_CHANNEL and records the tenant names published. */
export async function watchConfigChannel(redisUrl: string) {
  const subscriber = new Redis(redisUrl)
  const messages: string[] = []
  await subscriber.subscribe(CONFIG_CHANNEL)
  subscriber.on('message', (_channel, message) => messages.push(message))
  return {
    messages,
    count: (tenant: string) => messages.filter((m) => m === tenant).length,
    close: () => subscriber.quit(),
  }
}

/** readConfig reads a tenant's compiled config from Redis. */
export async function readConfig(redis: Redis, tenant: string): Promise<CompiledConfig | undefined> {
  const raw = await redis.get(keys.config(tenant))
  return raw ? (JSON.parse(raw) as CompiledConfig) : undefined
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
