import { Redis } from 'ioredis'

/**
 * connectRedis opens a client that never hangs a request: no offline queue (a command while
 * disconnected fails at once), a short command timeout, no per-command retries, and reconnects
 * forever in the background with a capped backoff. With `lazy` it connects only when told to
 * (managed mode: once the exchange gave it a Redis user). No ready check: it needs INFO, which a
 * tenant's Redis user may not run.
 */
export function connectRedis(url: string, name: string, lazy = false): Redis {
  return new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    commandTimeout: 1_000,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    lazyConnect: lazy,
  })
}
