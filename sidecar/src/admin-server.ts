import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ConfigSource } from './config/config-source.ts'
import type { CredentialState } from './config/exchanged-credentials.ts'
import { fallbackMode } from './limits/failover-limiter.ts'
import { createServer, type ListenAddress, listen } from './node-http.ts'
import type { RedisState } from './resilience/redis-client.ts'
import type { Lifecycle } from './stages/drain-stage.ts'
import type { SidecarMetrics } from './telemetry/metrics.ts'
import type { UsageTotals } from './usage/usage-recorder.ts'

/** AdminDeps are what the admin endpoints read. */
export interface AdminDeps {
  metrics: SidecarMetrics
  config: ConfigSource
  lifecycle: Lifecycle
  /** Where each provider's key comes from (never the key). */
  keySources: () => Record<string, string>
  /** In-memory usage totals (standalone mode without Redis). */
  usage?: () => UsageTotals[]
  /** State of the data-plane Redis (limits, cache) when there is one. */
  redis?: () => RedisState
  /** Managed mode: whether the exchanged credentials are in force. */
  credentials?: () => CredentialState
}

/** LOOPBACK_ONLY are the endpoints only the pod itself may read: limits, provider URLs, usage. */
const LOOPBACK_ONLY = new Set(['/config', '/usage'])

/**
 * isLoopback is true for a connection from the pod's own network namespace: Linux drops packets
 * with a loopback source that arrive on any other interface, so no other pod can appear as one.
 */
export const isLoopback = (address: string | undefined) =>
  address === '::1' || address?.startsWith('127.') === true || address?.startsWith('::ffff:127.') === true

/**
 * AdminServer serves `/metrics` (Prometheus), `/healthz` (the process runs), `/readyz` (a config
 * is in force, managed mode's credentials are, and no drain has started) to anyone who reaches
 * the admin port, which listens on the pod address for kubelet and Prometheus; `/config` (the
 * compiled config in force: it holds no secret; credentials show only where they come from) and,
 * in standalone mode, `/usage` only to connections from loopback, i.e. from inside the pod: the
 * tenant's limits, provider URLs and usage are nobody else's business.
 */
export class AdminServer {
  readonly #server: Server

  constructor(deps: AdminDeps) {
    this.#server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]
      const json = (status: number, value: unknown) => {
        const body = JSON.stringify(value, null, 2)
        res.writeHead(status, { 'content-type': 'application/json' }).end(body)
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'method not allowed' })
      if (LOOPBACK_ONLY.has(path ?? '') && !isLoopback(req.socket.remoteAddress))
        return json(403, { error: `${path} answers only on loopback, from inside the pod` })
      switch (path) {
        case '/metrics':
          deps.metrics.registry.metrics().then(
            (text) => res.writeHead(200, { 'content-type': deps.metrics.registry.contentType }).end(text),
            () => res.writeHead(500).end(),
          )
          return
        case '/healthz':
          return json(200, { status: 'ok' })
        case '/readyz': {
          // Redis down makes the sidecar unready only where it then refuses every call
          // (failureMode closed, or a budget failing closed); with failureMode open it serves on
          // local limits, and taking the pod out of its Service for that would turn a Redis
          // outage into an app outage.
          const config = deps.config.current()
          const redis = deps.redis?.()
          const credentials = deps.credentials?.()
          const refusing =
            redis === 'down' && config !== undefined && fallbackMode(config.compiled) === 'closed'
          const unauthorised = credentials !== undefined && credentials !== 'ok'
          const ready = config !== undefined && !deps.lifecycle.draining && !refusing && !unauthorised
          return json(ready ? 200 : 503, {
            status: ready
              ? 'ready'
              : deps.lifecycle.draining
                ? 'draining'
                : unauthorised
                  ? `credentials ${credentials}`
                  : config === undefined
                    ? 'no config'
                    : 'redis down (limits or budgets fail closed)',
            tenant: deps.config.tenant,
            version: config?.compiled.version,
            ...(redis && { redis }),
            ...(credentials && { credentials }),
          })
        }
        case '/config': {
          const config = deps.config.current()
          return json(config ? 200 : 503, {
            mode: deps.config.mode,
            tenant: deps.config.tenant,
            credentials: deps.keySources(),
            config: config?.compiled,
          })
        }
        case '/usage':
          if (deps.usage) return json(200, deps.usage())
          return json(404, { error: 'usage is kept in Redis in this mode' })
        default:
          return json(404, {
            error: 'not found',
            endpoints: ['/metrics', '/healthz', '/readyz', '/config', '/usage'],
          })
      }
    })
  }

  listen(address: ListenAddress): Promise<AddressInfo> {
    return listen(this.#server, address)
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve())
      this.#server.closeAllConnections()
    })
  }
}
