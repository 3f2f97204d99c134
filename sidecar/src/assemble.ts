import type { DestinationStream } from 'pino'
import { AdminServer } from './admin-server.ts'
import { BodyBudget } from './body/body-budget.ts'
import { ResponseCache } from './cache/response-cache.ts'
import { buildChain } from './chain.ts'
import type { ConfigSource } from './config/config-source.ts'
import { StaticConfigSource } from './config/config-source.ts'
import { StaticCredentials } from './config/credentials.ts'
import type { CredentialState } from './config/exchanged-credentials.ts'
import { RuntimeConfig } from './config/runtime-config.ts'
import type { StandaloneConfig } from './config/standalone-config.ts'
import { type DeferredCalls, MemoryDeferredCalls, RedisDeferredCalls } from './deferred/deferred-calls.ts'
import { type FeedPublisher, NO_FEED, RedisFeedPublisher } from './feed/feed-publisher.ts'
import { Heartbeat } from './feed/heartbeat.ts'
import type { SidecarOptions } from './flags.ts'
import type { Limiter } from './limits/limiter.ts'
import { MemoryLimiter } from './limits/memory-limiter.ts'
import { MemoryStore } from './limits/memory-store.ts'
import { ProxyServer } from './proxy-server.ts'
import { BreakerRegistry } from './resilience/breaker-registry.ts'
import type { DataRedis } from './resilience/redis-client.ts'
import type { Sidecar } from './sidecar.ts'
import type { Lifecycle } from './stages/drain-stage.ts'
import { createLoggers } from './telemetry/logger.ts'
import { SidecarMetrics } from './telemetry/metrics.ts'
import { startTracing } from './telemetry/tracing.ts'
import { UpstreamPools } from './upstream/pools.ts'
import { MemoryUsageRecorder, type UsageRecorder } from './usage/usage-recorder.ts'

/**
 * assembleSidecar builds and starts a sidecar from its options: config source (file or Redis),
 * usage recorder (memory or Redis), telemetry, the chain, and the proxy and admin servers.
 * It throws TOLLGATE_ERR_INVALID_CONFIG before listening when the config cannot be used.
 */
export async function assembleSidecar(
  options: SidecarOptions,
  env: NodeJS.ProcessEnv,
  logDestination: DestinationStream | undefined,
  standalone: Promise<StandaloneConfig> | undefined,
): Promise<Sidecar> {
  const loggers = createLoggers({ level: options.logLevel, destination: logDestination })
  const log = loggers.log
  const lifecycle: Lifecycle = { draining: false }
  // Managed mode connects to Redis only once the exchange gave it the tenant's Redis user.
  const managed = !standalone
  const redis = options.redisUrl
    ? (await import('./config/redis-client.ts')).connectRedis(
        options.redisUrl,
        'tollgate-sidecar',
        options.redisMode,
        managed,
      )
    : undefined
  redis?.on('error', () => {})
  // Limits and cache have a connection of their own, built to fail fast (resilience/redis-client.ts).
  const data: DataRedis | undefined = options.redisUrl
    ? new (await import('./resilience/redis-client.ts')).DataRedis({
        url: options.redisUrl,
        mode: options.redisMode,
        connectionName: 'tollgate-sidecar-data',
        lazyConnect: managed,
      })
    : undefined
  let keySources: () => Record<string, string>
  let config: ConfigSource
  let metrics: SidecarMetrics
  let credentialState: (() => CredentialState) | undefined
  try {
    if (standalone) {
      const file = await standalone
      const sources = file.keySources
      keySources = () => sources
      for (const [provider, source] of Object.entries(sources))
        if (source === 'none') log.warn({ provider }, 'no API key for provider; its calls will fail with 503')
      config = new StaticConfigSource(new RuntimeConfig(file.config, new StaticCredentials(file.keys)))
      metrics = new SidecarMetrics({ tenant: config.tenant })
      metrics.configVersion.set(file.config.version)
    } else {
      const tenant = options.tenant as string
      const exchange = options.exchange
      if (!exchange) throw new Error('managed mode without an exchange (parseFlags requires one)')
      const m = new SidecarMetrics({ tenant })
      metrics = m
      const [{ exchangeCredentials }, { ExchangedCredentials }, { RedisConfigSource }, { authenticate }] =
        await Promise.all([
          import('./config/exchange-client.ts'),
          import('./config/exchanged-credentials.ts'),
          import('./config/redis-config-source.ts'),
          import('./config/redis-auth.ts'),
        ])
      const credentials = new ExchangedCredentials({
        exchange: () => exchangeCredentials({ ...exchange, tenant }),
        log,
        onResult: (ok) => m.credentialExchanges.inc({ result: ok ? 'ok' : 'failed' }),
      })
      credentialState = () => credentials.state()
      keySources = () =>
        Object.fromEntries(
          (config.current()?.compiled.providers ?? []).map((p) => [
            p.name,
            credentials.get(p.name) ? 'exchange' : 'none',
          ]),
        )
      const source = new RedisConfigSource({
        client: redis as NonNullable<typeof redis>,
        tenant,
        credentials,
        trustedKeys: () => credentials.trustedKeys(),
        log,
        resyncMs: options.configResyncMs,
        events: {
          onLoad(result, version) {
            m.configLoads.inc({ result })
            if (version !== undefined) m.configVersion.set(version)
          },
        },
      })
      config = source
      const clients = [...source.clients(), ...(data ? [data.client] : [])]
      credentials.onChange((material) => {
        authenticate(clients, material.redis)
        // New config keys (a rotation) may make a stored config verify that did not before.
        if (redis?.status === 'ready') void source.reload('credentials')
      })
      credentials.start()
    }
  } catch (error) {
    redis?.disconnect()
    await data?.close()
    throw error
  }
  let usage: UsageRecorder
  let memoryUsage: MemoryUsageRecorder | undefined
  let instance = ''
  let feed: FeedPublisher = NO_FEED
  let heartbeat: Heartbeat | undefined
  const counts = { calls: 0, providerErrors: 0 }
  if (redis) {
    const { RedisUsageRecorder } = await import('./usage/redis-usage-recorder.ts')
    const recorder = new RedisUsageRecorder({ client: redis, tenant: config.tenant, log })
    usage = recorder
    instance = recorder.instance
    feed = new RedisFeedPublisher({ client: redis, tenant: config.tenant })
  } else {
    memoryUsage = new MemoryUsageRecorder()
    usage = memoryUsage
  }
  const tracing = await startTracing(env)
  const pools = new UpstreamPools()
  const { limiter, closeLimiter, cache, breakers, deferred } = await dataPlane(
    data,
    metrics,
    usage,
    options.cacheMemoryBytes,
    options.leaseFraction,
    !managed,
  )
  const chain = buildChain({
    config,
    pools,
    usage,
    metrics,
    tracing,
    log,
    access: loggers.access,
    lifecycle,
    namespace: options.namespace,
    workload: options.workload,
    feed,
    instance,
    counts,
    maxBodyBytes: options.maxBodyBytes,
    bodyBudget: new BodyBudget(options.maxInflightBodyBytes),
    limiter,
    deferred,
    cache,
    breakers,
  })
  if (redis) {
    heartbeat = new Heartbeat({
      client: redis,
      tenant: config.tenant,
      read: () => ({
        instance,
        at: Date.now(),
        namespace: options.namespace,
        workload: options.workload,
        configVersion: config.current()?.compiled.version ?? 0,
        // only breakers that are not closed: a sidecar may hold one per model it ever called
        breakers: Object.fromEntries(
          breakers
            .snapshot()
            .filter((b) => b.state !== 'closed')
            .map((b) => [`${b.provider}/${b.model}`, b.state]),
        ),
        limits: data?.isUp() ? 'redis' : 'local',
        calls: counts.calls,
        providerErrors: counts.providerErrors,
      }),
    })
    heartbeat.start()
  }
  const proxy = new ProxyServer(chain, log)
  const memory = memoryUsage
  const admin = new AdminServer({
    metrics,
    config,
    lifecycle,
    keySources: () => keySources(),
    ...(data && { redis: () => data.state() }),
    ...(memory && { usage: () => memory.totals() }),
    ...(credentialState && { credentials: credentialState }),
  })
  const proxyAddress = await proxy.listen(options.listen)
  const adminAddress = await admin.listen(options.adminListen)
  const url = (a: { address: string; port: number }) =>
    `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`
  const proxyUrl = url(proxyAddress)
  const adminUrl = url(adminAddress)
  log.info(
    {
      proxy: proxyUrl,
      admin: adminUrl,
      mode: config.mode,
      tenant: config.tenant,
      tracing: tracing !== undefined,
    },
    'tollgate-sidecar listening',
  )
  // logs are batched; whoever waits for this line (a person, a test, a probe script) gets it now
  loggers.flush()

  let stopping: Promise<void> | undefined
  return {
    proxyUrl,
    adminUrl,
    log,
    config,
    usage,
    memoryUsage,
    shutdown(deadlineMs = options.drainTimeoutMs) {
      stopping ??= (async () => {
        lifecycle.draining = true
        const inflight = proxy.inflight
        log.info({ inflight, deadlineMs }, 'draining')
        const cut = await proxy.drain(deadlineMs)
        if (cut) log.warn({ cut }, 'drain deadline passed; calls cut')
        heartbeat?.stop()
        // unused leases and spare slots go back to the other sidecars, settlements out
        await closeLimiter().catch((error: unknown) => log.warn({ err: error }, 'leases not returned'))
        await usage.close()
        await feed.close()
        await config.close()
        redis?.disconnect()
        await data?.close()
        await pools.close()
        await admin.close()
        await tracing?.shutdown()
        log.info('stopped')
        loggers.flush()
      })()
      return stopping
    },
  }
}

/**
 * dataPlane builds limits, cache and breakers. With Redis: limits shared by every replica, falling
 * back to local ones (failureMode open) or 503 (closed) while Redis is down, and a cache with a
 * Redis second level. Without: local limits and a memory cache. It waits briefly for Redis so the
 * first calls are not decided locally only because the connection was still opening.
 */
async function dataPlane(
  data: DataRedis | undefined,
  metrics: SidecarMetrics,
  usage: UsageRecorder,
  cacheMemoryBytes: number,
  leaseFraction: number,
  waitForRedis: boolean,
) {
  const breakers = new BreakerRegistry()
  metrics.observeBreakers(() => breakers.snapshot())
  const store = new MemoryStore()
  const local = new MemoryLimiter({ store })
  if (!data) {
    return {
      limiter: local as Limiter,
      closeLimiter: async () => {},
      deferred: new MemoryDeferredCalls(usage, store) as DeferredCalls,
      cache: new ResponseCache({ memoryMaxBytes: cacheMemoryBytes }),
      breakers,
    }
  }
  metrics.redisUp.set(data.isUp() ? 1 : 0)
  data.onChange((state) => metrics.redisUp.set(state === 'up' ? 1 : 0))
  const [{ RedisLimiter }, { FailoverLimiter }] = await Promise.all([
    import('./limits/redis-limiter.ts'),
    import('./limits/failover-limiter.ts'),
  ])
  const primary = new RedisLimiter({ redis: data.client, fraction: leaseFraction })
  const limiter = new FailoverLimiter({
    primary,
    fallback: local,
    isPrimaryUp: () => data.isUp(),
    onFallback: (mode) => metrics.limiterFallbacks.inc({ mode }),
  })
  const cache = new ResponseCache({
    redis: data.client,
    isRedisUp: () => data.isUp(),
    memoryMaxBytes: cacheMemoryBytes,
  })
  // Managed mode serves nothing before its config, which comes over this Redis anyway.
  if (waitForRedis) await data.waitUntilUp(2_000).catch(() => {})
  return {
    limiter: limiter as Limiter,
    closeLimiter: () => primary.close(),
    deferred: new RedisDeferredCalls(data.client) as DeferredCalls,
    cache,
    breakers,
  }
}
