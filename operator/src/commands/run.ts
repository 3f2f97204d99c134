import type { Logger } from 'pino'
import type { RunConfig } from '../cli.ts'
import { loadTables } from '../config/tables.ts'
import { loadOperatorKeys } from '../keys/operator-keys.ts'
import { type Component, type Operator, startOperator } from '../operator.ts'
import { connectRedis } from '../redis/redis-client.ts'
import { RedisPasswords } from '../redis/redis-passwords.ts'
import { createKubeClients, loadKubeConfig } from '../runtime/kube.ts'
import { createMetrics } from '../runtime/metrics.ts'
import { readDeploymentOwner } from '../runtime/owner.ts'
import { Db } from '../store/db.ts'
import { webhookComponents } from '../webhook/components.ts'

/** runOperator builds clients from the config and starts the operator; stop() closes everything. */
export async function runOperator(config: RunConfig, logger: Logger, components: Component[] = []) {
  const tables = loadTables({ tiers: config.tiersFile, prices: config.pricesFile })
  const kube = createKubeClients(loadKubeConfig(config.kubeconfig))
  const owner = config.ownerDeployment
    ? await readDeploymentOwner(kube.config, config.leaseNamespace, config.ownerDeployment)
    : undefined
  // The same keys on every replica: configs signed by one verify for all, passwords agree.
  const keys = await loadOperatorKeys(kube.core, config.namespace, config.keysSecret, owner)
  const passwords = new RedisPasswords(keys.derive('redis-acl'), config.redisPasswordRotationMs)
  const redis = connectRedis(config.redisUrl, config.redisMode)
  redis.on('error', (error) => logger.debug({ err: error }, 'redis error'))
  const db = new Db({ url: config.databaseUrl, logger })
  let operator: Operator
  try {
    operator = await startOperator({
      kube,
      namespace: config.namespace,
      keys,
      redisPasswordRotationMs: config.redisPasswordRotationMs,
      alerts: { allowHosts: config.alertAllowHosts, timeoutMs: config.alertTimeoutMs },
      alertDefaultAt: config.alertDefaultAt,
      redis,
      db,
      databaseUrl: config.databaseUrl,
      tables,
      logger,
      metrics: createMetrics({ defaultMetrics: true }),
      identity: config.identity,
      lease: {
        namespace: config.leaseNamespace,
        name: config.leaseName,
        durationMs: config.leaseDurationMs,
        renewDeadlineMs: config.renewDeadlineMs,
        retryPeriodMs: config.retryPeriodMs,
        ...(owner && { owner }),
      },
      workers: config.workers,
      ...(config.selector && { selector: config.selector }),
      resyncMs: config.resyncMs,
      usageIntervalMs: config.usageIntervalMs,
      metricsListen: config.metricsListen,
      healthListen: config.healthListen,
      ...(config.console && { console: config.console }),
      endUsersPerHour: config.endUsersPerHour,
      // The injection webhook (every replica) and the mediation count (leader).
      components: [
        ...components,
        ...webhookComponents(config.webhook, {
          ...(config.selector && { selector: config.selector }),
          ...(owner && { owner }),
          keys,
          passwords,
          operatorSecrets: [config.keysSecret],
        }),
      ],
      migrate: config.migrate,
    })
  } catch (error) {
    redis.disconnect()
    await db.close()
    throw error
  }
  logger.info(
    {
      identity: config.identity,
      metrics: operator.metricsUrl,
      health: operator.healthUrl,
      ...(operator.consoleUrl && { console: operator.consoleUrl }),
    },
    'tollgate-operator started',
  )
  return {
    operator,
    async stop() {
      await operator.stop()
      redis.disconnect()
      await db.close()
    },
  }
}
