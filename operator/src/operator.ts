import type { V1OwnerReference } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import { type AnalyticsDeps, analyticsRoutes } from './analytics/analytics-api.ts'
import { AnalyticsStore } from './analytics/analytics-store.ts'
import { LiveState } from './analytics/live-state.ts'
import { RefusalRecorder } from './analytics/refusal-recorder.ts'
import { RefusalStore } from './analytics/refusal-store.ts'
import { TenantDirectory } from './analytics/tenant-directory.ts'
import { AccessReview } from './auth/access-review.ts'
import type { ProxyHeaders } from './auth/proxy-authentication.ts'
import { requireAccess } from './auth/require-access.ts'
import type { Tables } from './config/tables.ts'
import { startConsoleServer } from './console/console-server.ts'
import { alertWebhookURL } from './credentials/alert-webhook-url.ts'
import { SecretReader } from './credentials/secret-reader.ts'
import { createInformers, type Informers, startInformers, stopInformers } from './informers.ts'
import type { OperatorKeys } from './keys/operator-keys.ts'
import { EventRecorder } from './reconcile/events.ts'
import { RateLimitPolicyReconciler } from './reconcile/policy-reconciler.ts'
import { TenantReconciler } from './reconcile/tenant-reconciler.ts'
import { ConfigStore } from './redis/config-store.ts'
import { type RedisClient, redisNodes } from './redis/redis-client.ts'
import { RedisPasswords } from './redis/redis-passwords.ts'
import { TenantAclUsers } from './redis/tenant-acl-users.ts'
import { UsageCounters } from './redis/usage-counters.ts'
import { Backoff, type BackoffOptions, sleep } from './runtime/backoff.ts'
import { Controller } from './runtime/controller.ts'
import { type HttpServer, send, startHttpServer } from './runtime/http-server.ts'
import type { KubeClients } from './runtime/kube.ts'
import { LeaderElector } from './runtime/leader-election.ts'
import type { OperatorMetrics } from './runtime/metrics.ts'
import { AlertsStore } from './store/alerts-store.ts'
import type { Db } from './store/db.ts'
import { Ledger } from './store/ledger.ts'
import { migrate } from './store/migrate.ts'
import { ResourceStore } from './store/resource-store.ts'
import { AlertTarget, type AlertTargetPolicy } from './usage/alert-target.ts'
import { Alerter } from './usage/alerter.ts'
import { USAGE_PATH, usageAccess, usageApi } from './usage/usage-api.ts'
import { UsageFlusher } from './usage/usage-flusher.ts'
import { UsageState } from './usage/usage-state.ts'
import { wireEvents } from './wiring.ts'

/** Stoppable is anything started that can be stopped. */
export interface Stoppable {
  stop(): Promise<void>
}

/** ComponentContext is what an added component (the webhook server, say) gets to work with. */
export interface ComponentContext {
  kube: KubeClients
  logger: Logger
  metrics: OperatorMetrics
  /** Aborts when the component must stop (shutdown, or lost leadership for leader-only ones). */
  signal: AbortSignal
}

/**
 * Component is a part of the operator beyond the built-in controllers. Components with
 * `leaderOnly` run only while this replica leads (e.g. certificate rotation); others run on every
 * replica (e.g. the mutating webhook server).
 */
export interface Component {
  name: string
  leaderOnly?: boolean
  start(context: ComponentContext): Promise<Stoppable>
}

export interface OperatorOptions {
  kube: KubeClients
  /** The operator's namespace: its keys, and the Secrets Tenants may reference without a grant. */
  namespace: string
  keys: OperatorKeys
  /** Period of a tenant's Redis password (its user takes the previous, current and next). */
  redisPasswordRotationMs: number
  /** Where budget alerts may go. */
  alerts: AlertTargetPolicy
  /** Thresholds of a budget without alertAt (--alert-default-at); default [1]. */
  alertDefaultAt?: number[]
  /** One node or a Redis Cluster (redis/redis-client.ts). */
  redis: RedisClient
  db: Db
  /** Migrations run with their own connection (node-pg-migrate) at the start of each term. */
  databaseUrl: string
  tables: Tables
  logger: Logger
  metrics: OperatorMetrics
  identity: string
  lease: {
    namespace: string
    name: string
    durationMs: number
    renewDeadlineMs: number
    retryPeriodMs: number
    /** Set on the Lease when it is created (see runtime/owner.ts). */
    owner?: V1OwnerReference
  }
  workers: number
  /**
   * Label selector: manage only the Tenants and RateLimitPolicies that match (shards, tests that
   * share an API server). Default: all.
   */
  selector?: string
  resyncMs: number
  usageIntervalMs: number
  /** `/metrics` and `GET /api/v1/usage`, both behind TokenReview and SubjectAccessReview. */
  metricsListen: string
  /** `/healthz` and `/readyz`. */
  healthListen: string
  /**
   * The web console and the analytics API on a port of their own (console/console-server.ts);
   * none when absent. `auth` token: a bearer token or the console's sign-in (TokenReview); proxy:
   * the user an authenticating proxy names in `proxyHeaders` (bearer tokens still work).
   */
  console?: { listen: string; auth: 'token' | 'proxy'; proxyHeaders?: ProxyHeaders }
  /** Distinct end users per tenant and hour in the ledger; the rest count as `other`. */
  endUsersPerHour?: number
  components?: Component[]
  /** Run migrations when becoming leader (default true). */
  migrate?: boolean
  retryBackoff?: BackoffOptions
}

/** Operator is a running operator. */
export interface Operator {
  metricsUrl: string
  healthUrl: string
  /** The console's URL, when options.console is set. */
  consoleUrl?: string
  readonly isLeader: boolean
  stop(): Promise<void>
}

/** LeaderWork is what runs while this replica leads. */
interface LeaderWork {
  informers: Informers
  controllers: Controller[]
  flusher: UsageFlusher
  refusals: RefusalRecorder
  alerter: Alerter
  components: Stoppable[]
}

/**
 * startOperator composes the operator: HTTP servers (metrics and usage API, health), always-on
 * components, and a leader election whose term starts migrations, informers, the Tenant and
 * RateLimitPolicy controllers, the usage loop and leader-only components, and stops them all
 * when the term ends. Stopping releases the lease.
 */
export async function startOperator(options: OperatorOptions): Promise<Operator> {
  const { kube, logger, metrics } = options
  const backoff = options.retryBackoff ?? { baseMs: 100, maxMs: 60_000, jitter: 0.1 }
  const configs = new ConfigStore(options.redis, options.keys.signingKey)
  const acl = new TenantAclUsers(
    () => redisNodes(options.redis, 'all'),
    new RedisPasswords(options.keys.derive('redis-acl'), options.redisPasswordRotationMs),
  )
  const secrets = new SecretReader(kube.core)
  const access = new AccessReview(kube.authentication, kube.authorization)
  const alertTarget = new AlertTarget(options.alerts)
  const resources = new ResourceStore(options.db)
  const ledger = new Ledger(options.db, {
    ...(options.endUsersPerHour !== undefined && { endUsersPerHour: options.endUsersPerHour }),
    onSkip(tenant, hour, row, reason) {
      metrics.ledgerRowsSkipped.inc()
      logger.warn(
        { tenant, hour, provider: row.provider, namespace: row.namespace, reason },
        'usage row skipped',
      )
    },
  })
  const events = new EventRecorder(kube.core, logger)
  const usage = new UsageState()
  let work: LeaderWork | undefined
  let ready = false
  const always = new AbortController()

  const live = new LiveState(options.redis)
  const refusalStore = new RefusalStore(options.db)
  const analytics: AnalyticsDeps = {
    access,
    analytics: new AnalyticsStore(options.db),
    refusals: refusalStore,
    live,
    directory: new TenantDirectory(kube.custom, access, options.selector),
  }
  // kube-rbac-proxy's rule for metrics: `get` on the non-resource URL /metrics.
  const metricsServer = await startHttpServer(options.metricsListen, {
    '/metrics': requireAccess(
      access,
      () => ({ path: '/metrics', verb: 'get' }),
      async (_req, res) => send(res, 200, await metrics.registry.metrics(), metrics.registry.contentType),
    ),
    [USAGE_PATH]: requireAccess(access, usageAccess, usageApi(ledger)),
    ...analyticsRoutes(analytics),
  })
  const consoleServer = options.console
    ? await startConsoleServer({
        ...analytics,
        listen: options.console.listen,
        auth: options.console.auth,
        ...(options.console.proxyHeaders && { proxyHeaders: options.console.proxyHeaders }),
        ledger,
        tiers: options.tables.tiers,
        logger: logger.child({ component: 'console' }),
      })
    : undefined
  const healthServer: HttpServer = await startHttpServer(options.healthListen, {
    '/healthz': (_req, res) => send(res, 200, 'ok\n'),
    '/readyz': (_req, res) => (ready ? send(res, 200, 'ok\n') : send(res, 503, 'not ready\n')),
  })

  const started: Stoppable[] = []
  for (const component of options.components ?? []) {
    if (component.leaderOnly) continue
    started.push(
      await component.start({
        kube,
        logger: logger.child({ component: component.name }),
        metrics,
        signal: always.signal,
      }),
    )
  }

  const lead = async (signal: AbortSignal) => {
    const migrated = options.migrate !== false ? migrateInBackground(options, signal) : Promise.resolve()
    const informers = createInformers({
      kube,
      namespace: options.namespace,
      resyncMs: options.resyncMs,
      ...(options.selector && { selector: options.selector }),
      backoff,
      logger,
      metrics,
    })
    const tenantReconciler = new TenantReconciler({
      tenants: informers.tenants,
      policies: informers.policies,
      grants: informers.grants,
      custom: kube.custom,
      configs,
      acl,
      secrets,
      namespace: options.namespace,
      resources,
      tables: options.tables,
      usage,
      events,
      flushUsage: (tenant) => flusher.flushCounters(tenant),
      loadUsage: (tenant) => flusher.usageOf(tenant),
      logger,
      metrics,
    })
    const policyReconciler = new RateLimitPolicyReconciler({
      ...informers,
      custom: kube.custom,
      resources,
      tables: options.tables,
      logger,
    })
    const common = { workers: options.workers, backoff, logger, metrics }
    const tenantCtl = new Controller({ ...common, name: 'tenant', reconcile: tenantReconciler.reconcile })
    const policyCtl = new Controller({
      ...common,
      name: 'ratelimitpolicy',
      reconcile: policyReconciler.reconcile,
    })
    wireEvents(informers, tenantCtl, policyCtl, secrets)
    // A Redis that comes back may have lost configs and ACL users (no AOF, no ACL file): every
    // tenant is reconciled again at once rather than at the next resync. On a cluster, so is a
    // node the client had not seen (added, or back after a failover or restart): ACL users are
    // per node, and the reconcile sets them on every node.
    const reconcileAll = () => {
      for (const t of informers.tenants.list()) tenantCtl.enqueue(t.metadata.name)
    }
    options.redis.on('ready', reconcileAll)
    options.redis.on('+node', reconcileAll)
    signal.addEventListener(
      'abort',
      () => {
        options.redis.off('ready', reconcileAll)
        options.redis.off('+node', reconcileAll)
      },
      { once: true },
    )
    const alerter = new Alerter({
      alerts: new AlertsStore(options.db),
      events,
      webhookURL: alertWebhookURL({
        secrets,
        namespace: options.namespace,
        grants: () => informers.grants.list(),
      }),
      target: alertTarget,
      tenant: (name) => informers.tenants.get(name),
      onCrossed: (tenant, event) => {
        live.append(tenant, event).catch((error) => logger.debug({ tenant, err: error }, 'feed not written'))
      },
      logger,
      metrics,
    })
    const flusher = new UsageFlusher({
      tenants: informers.tenants,
      counters: new UsageCounters(options.redis),
      ledger,
      usage,
      alerter,
      ...(options.alertDefaultAt && { defaultAlertAt: options.alertDefaultAt }),
      onChange: (tenant) => tenantCtl.enqueue(tenant),
      intervalMs: options.usageIntervalMs,
      logger,
      metrics,
    })
    const refusals = new RefusalRecorder({
      live,
      store: refusalStore,
      tenants: () => informers.tenants.list().map((t) => t.metadata.name),
      logger,
      intervalMs: Math.max(options.usageIntervalMs, 200),
    })
    work = { informers, controllers: [tenantCtl, policyCtl], flusher, refusals, alerter, components: [] }
    // Knowing the stored rows lets a resync skip unchanged upserts; Postgres may be away.
    const primed = resources
      .prime()
      .catch((error) => logger.warn({ err: error }, 'could not read tenant rows'))
    if (!(await startInformers(informers, signal))) return
    await primed
    tenantCtl.start()
    policyCtl.start()
    // The usage loop needs the ledger tables; configs flow to Redis meanwhile.
    void migrated.then(() => {
      if (signal.aborted) return
      flusher.start()
      refusals.start()
    })
    for (const component of options.components ?? []) {
      if (!component.leaderOnly) continue
      work.components.push(
        await component.start({ kube, logger: logger.child({ component: component.name }), metrics, signal }),
      )
    }
    logger.info({ tenants: informers.tenants.list().length }, 'controllers started')
  }

  const stopLeading = async () => {
    const current = work
    work = undefined
    if (!current) return
    await current.flusher.stop()
    await current.refusals.stop()
    await current.alerter.close()
    await Promise.all(current.controllers.map((c) => c.stop()))
    await Promise.all(current.components.map((c) => c.stop()))
    await stopInformers(current.informers)
    usage.clear()
  }

  const elector = new LeaderElector({
    api: kube.coordination,
    namespace: options.lease.namespace,
    name: options.lease.name,
    identity: options.identity,
    leaseDurationMs: options.lease.durationMs,
    renewDeadlineMs: options.lease.renewDeadlineMs,
    retryPeriodMs: options.lease.retryPeriodMs,
    ...(options.lease.owner && { owner: options.lease.owner }),
    onStartedLeading: lead,
    onStoppedLeading: stopLeading,
    logger,
    metrics,
  })
  elector.start()
  ready = true

  return {
    metricsUrl: metricsServer.url,
    healthUrl: healthServer.url,
    ...(consoleServer && { consoleUrl: consoleServer.url }),
    get isLeader() {
      return elector.isLeader
    },
    async stop() {
      ready = false
      always.abort()
      await elector.stop()
      await stopLeading()
      await Promise.all(started.map((c) => c.stop()))
      await metricsServer.close()
      await consoleServer?.close()
      await healthServer.close()
      await alertTarget.close()
    },
  }
}

/** migrateInBackground retries migrations until they succeed: Postgres may come up later than us. */
async function migrateInBackground(options: OperatorOptions, signal: AbortSignal): Promise<void> {
  const backoff = new Backoff({ baseMs: 1_000, maxMs: 30_000 })
  while (!signal.aborted) {
    try {
      const ran = await migrate({ url: options.databaseUrl, direction: 'up', logger: options.logger })
      if (ran.length > 0) options.logger.info({ migrations: ran }, 'migrations applied')
      return
    } catch (error) {
      const delay = backoff.next()
      options.logger.warn({ err: error, retryInMs: delay }, 'migrations failed; retrying')
      await sleep(delay, signal)
    }
  }
}
