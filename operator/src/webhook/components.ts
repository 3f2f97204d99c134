import type { KubeConfig, V1OwnerReference } from '@kubernetes/client-node'
import type { Registry } from 'prom-client'
import type { OperatorKeys } from '../keys/operator-keys.ts'
import type { RedisPasswords } from '../redis/redis-passwords.ts'
import type { Logger } from './admission-handler.ts'
import { Attestor } from './attestation.ts'
import { BudgetMetrics } from './budget-metrics.ts'
import { MediationController } from './mediation-controller.ts'
import { startWebhook } from './start-webhook.ts'
import type { WebhookFlags } from './webhook-flags.ts'

/**
 * OperatorComponent is the shape of the operator's `Component` (operator/src/operator.ts), written
 * out here so this folder does not import the operator runtime: components with `leaderOnly` run
 * only while the replica leads, the others on every replica.
 */
export interface OperatorComponent {
  name: string
  leaderOnly?: boolean
  start(context: {
    kube: { config: KubeConfig }
    /** Already bound to the component's name by the operator. */
    logger: Logger
    metrics: { registry: Registry }
    signal: AbortSignal
  }): Promise<{ stop(): Promise<void> }>
}

/**
 * webhookComponents are what injection adds to `tollgate-operator run`: the webhook server on
 * every replica (when `--webhook-listen` is given), and on the leader the loop that keeps
 * `Tenant.status.mediatedPods` and the `Mediated` condition.
 */
export function webhookComponents(
  flags: WebhookFlags | undefined,
  options: {
    selector?: string
    owner?: V1OwnerReference
    keys: OperatorKeys
    passwords: RedisPasswords
    /** The operator's own Secrets (the keys Secret), which no pod in its namespace may read. */
    operatorSecrets: string[]
  },
): OperatorComponent[] {
  const attestor = new Attestor(options.keys.derive('injection'))
  // One gauge per process: it outlives leadership terms (a registry refuses a second of a name).
  let budgets: BudgetMetrics | undefined
  const mediation: OperatorComponent = {
    name: 'mediation',
    leaderOnly: true,
    async start({ kube, logger, metrics }) {
      budgets ??= new BudgetMetrics(metrics.registry)
      const controller = new MediationController({
        kc: kube.config,
        attestor,
        logger,
        budgets,
        ...(options.selector && { labelSelector: options.selector }),
      })
      controller.start()
      return {
        async stop() {
          await controller.stop()
          budgets?.observe([]) // a follower exports no budget series
        },
      }
    },
  }
  if (!flags) return [mediation]
  const webhook: OperatorComponent = {
    name: 'webhook',
    async start({ kube, logger, metrics }) {
      const running = await startWebhook({
        kc: kube.config,
        host: flags.host,
        port: flags.port,
        failurePolicy: flags.failurePolicy,
        certMode: flags.certMode,
        namespace: flags.namespace,
        certSecret: flags.certSecret,
        webhookConfigName: flags.webhookConfigName,
        serviceName: flags.serviceName,
        extraDNSNames: flags.extraDNSNames,
        extraIPAddresses: flags.extraIPAddresses,
        ...(flags.injectionConfigFile && { injectionConfigFile: flags.injectionConfigFile }),
        ...(options.owner && { owner: options.owner }),
        exchangeURL: flags.exchangeURL,
        exchangeTtlMs: flags.exchangeTtlMs,
        keys: options.keys,
        passwords: options.passwords,
        operatorSecrets: options.operatorSecrets,
        registry: metrics.registry,
        logger,
      })
      return { stop: () => running.stop() }
    },
  }
  return [webhook, mediation]
}
