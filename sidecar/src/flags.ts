import { parseArgs } from 'node:util'
import { parseDuration } from '@tollgate/api/duration.ts'
import { TOKEN_FILE } from '@tollgate/api/exchange.ts'
import { SIDECAR_PORTS } from '@tollgate/api/naming.ts'
import { clusterSeed, isRedisMode, type RedisMode } from '@tollgate/api/redis-mode.ts'
import { hasCredentials } from './config/redis-auth.ts'
import { TollgateError } from './errors.ts'
import type { ListenAddress } from './node-http.ts'

/** SidecarOptions are the sidecar's settings after flags and environment are read. */
export interface SidecarOptions {
  configFile: string | undefined
  tenant: string | undefined
  redisUrl: string | undefined
  /** single: one Redis node; cluster: redisUrl is a seed node of a Redis Cluster. */
  redisMode: RedisMode
  listen: ListenAddress
  adminListen: ListenAddress
  namespace: string
  /** The pod's workload (`deployment/app`) usage is counted under; '' when not given. */
  workload: string
  /** Managed mode: where to exchange the pod's token for credentials, and whom to trust there. */
  exchange: { url: string; ca: string; tokenFile: string } | undefined
  maxBodyBytes: number
  /**
   * Bound of the bytes of request bodies held at once (503 past it). A 32 MiB prompt peaks at
   * about 80 MiB of heap and 220 MiB of RSS in a sidecar idling at 90 MiB, so one such body at
   * a time is what the injected sidecar's 256 MiB limit holds.
   */
  maxInflightBodyBytes: number
  /** Bound of the in-process response cache; 0 keeps answers in Redis only. */
  cacheMemoryBytes: number
  /** Most unused lease all sidecars may hold on a limit, as a fraction of it; 0: per-call reservations. */
  leaseFraction: number
  drainTimeoutMs: number
  /** Managed mode: how often the config is read again without a publish (pub/sub may lose one). */
  configResyncMs: number
  logLevel: string
}

/** FLAGS lists every flag with its variable, default and help line; the help text is built from it. */
const FLAGS = {
  config: {
    env: 'TOLLGATE_CONFIG',
    arg: 'FILE',
    help: 'Tenant/RateLimitPolicy/Secret YAML: standalone mode',
  },
  tenant: {
    env: 'TOLLGATE_TENANT',
    arg: 'NAME',
    help: 'tenant to serve (optional when the file has one Tenant)',
  },
  redis: {
    env: 'TOLLGATE_REDIS_URL',
    arg: 'URL',
    help: 'Redis: config (without --config), usage counters, shared limits and cache',
  },
  'redis-mode': {
    env: 'TOLLGATE_REDIS_MODE',
    arg: 'MODE',
    help: 'single, or cluster: --redis is a seed node of a Redis Cluster (default single)',
  },
  listen: {
    env: 'TOLLGATE_LISTEN',
    arg: 'HOST:PORT',
    help: `proxy address (default 127.0.0.1:${SIDECAR_PORTS.proxy})`,
  },
  'admin-listen': {
    env: 'TOLLGATE_ADMIN_LISTEN',
    arg: 'HOST:PORT',
    help: `metrics/health address (default 127.0.0.1:${SIDECAR_PORTS.admin})`,
  },
  namespace: {
    env: 'TOLLGATE_NAMESPACE',
    arg: 'NAME',
    help: "namespace usage is counted under (default 'default')",
  },
  workload: {
    env: 'TOLLGATE_WORKLOAD',
    arg: 'KIND/NAME',
    help: 'workload usage is counted under, e.g. deployment/app (the webhook sets it; default none)',
  },
  'exchange-url': {
    env: 'TOLLGATE_EXCHANGE_URL',
    arg: 'URL',
    help: "managed mode: the operator's credential exchange (https)",
  },
  'exchange-ca': {
    env: 'TOLLGATE_EXCHANGE_CA',
    arg: 'PEM',
    help: "managed mode: PEM of the CA of the operator's serving certificate",
  },
  'token-file': {
    env: 'TOLLGATE_TOKEN_FILE',
    arg: 'FILE',
    help: `managed mode: the projected ServiceAccount token (default ${TOKEN_FILE})`,
  },
  'max-body-bytes': {
    env: 'TOLLGATE_MAX_BODY_BYTES',
    arg: 'N',
    help: 'largest request body (default 33554432)',
  },
  'max-inflight-body-bytes': {
    env: 'TOLLGATE_MAX_INFLIGHT_BODY_BYTES',
    arg: 'N',
    help: 'bytes of request bodies held at once; 503 past it (default 33554432)',
  },
  'cache-memory-bytes': {
    env: 'TOLLGATE_CACHE_MEMORY_BYTES',
    arg: 'N',
    help: 'memory for cached answers, 0 = Redis only (default 67108864)',
  },
  'lease-fraction': {
    env: 'TOLLGATE_LEASE_FRACTION',
    arg: 'F',
    help: 'most unused quota lease of all sidecars, a fraction of each limit; 0 = per call (default 0.02)',
  },
  'drain-timeout': {
    env: 'TOLLGATE_DRAIN_TIMEOUT',
    arg: 'DURATION',
    help: 'SIGTERM drain deadline (default 25s)',
  },
  'config-resync': {
    env: 'TOLLGATE_CONFIG_RESYNC',
    arg: 'DURATION',
    help: 'managed mode: read the config again this often, publish or not (default 30s)',
  },
  'log-level': {
    env: 'TOLLGATE_LOG_LEVEL',
    arg: 'LEVEL',
    help: 'trace|debug|info|warn|error (default info)',
  },
} as const

type Flag = keyof typeof FLAGS

/** HELP is the `--help` text. */
export const HELP = [
  'Usage: tollgate-sidecar [--config FILE] [--tenant NAME] [--redis URL] [--listen HOST:PORT] [--admin-listen HOST:PORT]',
  '',
  'Proxies OpenAI and Anthropic calls at /<provider>/..., sets the provider key itself, counts tokens and cost.',
  'Standalone: --config FILE. Managed: --redis URL --tenant NAME --exchange-url URL --exchange-ca PEM',
  '(credentials by token exchange at the operator, config follows Redis).',
  '',
  ...Object.entries(FLAGS).map(([name, f]) => `  --${`${name} ${f.arg}`.padEnd(28)} ${f.help} [$${f.env}]`),
  `  ${'-h, --help'.padEnd(30)} show this help`,
  '',
  'Tracing: the standard OTEL_* variables (off unless an exporter or OTLP endpoint is set).',
].join('\n')

const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])

const bad = (message: string) => new TollgateError('TOLLGATE_ERR_INVALID_FLAG', message)

/** parseListen reads `HOST:PORT`, `[v6]:PORT` or `PORT` (host 127.0.0.1). */
export function parseListen(flag: string, value: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]*)):(\d{1,5})$/.exec(value) ?? /^()()(\d{1,5})$/.exec(value)
  const port = Number(match?.[3])
  if (!match || port > 65_535) throw bad(`--${flag}: expected HOST:PORT, got ${JSON.stringify(value)}`)
  return { host: match[1] || match[2] || '127.0.0.1', port }
}

/**
 * parseFlags reads the command line and the TOLLGATE_* variables (a flag wins over its variable).
 * It returns undefined for `--help` and throws TOLLGATE_ERR_INVALID_FLAG for anything it cannot use.
 */
export function parseFlags(argv: string[], env: NodeJS.ProcessEnv): SidecarOptions | undefined {
  let values: Partial<Record<Flag | 'help', string | boolean>>
  try {
    values = parseArgs({
      args: argv,
      options: {
        ...Object.fromEntries(Object.keys(FLAGS).map((name) => [name, { type: 'string' as const }])),
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values
  } catch (cause) {
    throw bad((cause as Error).message.split('\n')[0] ?? 'invalid arguments')
  }
  if (values.help) return undefined
  const get = (flag: Flag): string | undefined => {
    const value = (values[flag] as string | undefined) ?? env[FLAGS[flag].env]
    return value === undefined || value === '' ? undefined : value
  }
  const maxBody = get('max-body-bytes')
  const maxBodyBytes = maxBody === undefined ? 32 * 1024 * 1024 : Number(maxBody)
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1)
    throw bad(`--max-body-bytes: not a positive integer: ${maxBody}`)
  const inflight = get('max-inflight-body-bytes')
  const maxInflightBodyBytes = inflight === undefined ? 32 * 1024 * 1024 : Number(inflight)
  if (!Number.isSafeInteger(maxInflightBodyBytes) || maxInflightBodyBytes < 1)
    throw bad(`--max-inflight-body-bytes: not a positive integer: ${inflight}`)
  if (maxInflightBodyBytes < maxBodyBytes)
    throw bad(
      '--max-inflight-body-bytes: smaller than --max-body-bytes, the largest body could never be read',
    )
  const cacheMemory = get('cache-memory-bytes')
  const cacheMemoryBytes = cacheMemory === undefined ? 64 * 1024 * 1024 : Number(cacheMemory)
  if (!Number.isSafeInteger(cacheMemoryBytes) || cacheMemoryBytes < 0)
    throw bad(`--cache-memory-bytes: not a non-negative integer: ${cacheMemory}`)
  const fraction = get('lease-fraction')
  const leaseFraction = fraction === undefined ? 0.02 : Number(fraction)
  if (!(leaseFraction >= 0 && leaseFraction <= 0.5))
    throw bad(`--lease-fraction: not a number from 0 to 0.5: ${fraction}`)
  let drainTimeoutMs: number
  try {
    drainTimeoutMs = parseDuration(get('drain-timeout') ?? '25s')
  } catch (cause) {
    throw bad(`--drain-timeout: ${(cause as Error).message}`)
  }
  let configResyncMs: number
  try {
    configResyncMs = parseDuration(get('config-resync') ?? '30s')
  } catch (cause) {
    throw bad(`--config-resync: ${(cause as Error).message}`)
  }
  if (configResyncMs < 100) throw bad(`--config-resync: at least 100ms, got ${get('config-resync')}`)
  const logLevel = get('log-level') ?? 'info'
  if (!LOG_LEVELS.has(logLevel)) throw bad(`--log-level: unknown level ${logLevel}`)
  const redisMode = get('redis-mode') ?? 'single'
  if (!isRedisMode(redisMode)) throw bad(`--redis-mode: expected single or cluster, got ${redisMode}`)
  const options: SidecarOptions = {
    configFile: get('config'),
    tenant: get('tenant'),
    redisUrl: get('redis'),
    redisMode,
    listen: parseListen('listen', get('listen') ?? `127.0.0.1:${SIDECAR_PORTS.proxy}`),
    adminListen: parseListen('admin-listen', get('admin-listen') ?? `127.0.0.1:${SIDECAR_PORTS.admin}`),
    namespace: get('namespace') ?? 'default',
    workload: get('workload') ?? '',
    exchange: undefined,
    maxBodyBytes,
    maxInflightBodyBytes,
    cacheMemoryBytes,
    leaseFraction,
    drainTimeoutMs,
    configResyncMs,
    logLevel,
  }
  if (!options.configFile && !options.redisUrl)
    throw bad('give --config FILE (standalone) or --redis URL --tenant NAME (managed)')
  if (!options.configFile && !options.tenant)
    throw bad('--tenant is required when the config comes from Redis')
  if (options.redisUrl && !/^rediss?:\/\//.test(options.redisUrl))
    throw bad(`--redis: expected redis://HOST:PORT, got ${options.redisUrl}`)
  if (options.redisUrl && redisMode === 'cluster') {
    try {
      clusterSeed(options.redisUrl)
    } catch (cause) {
      throw bad(`--redis: ${(cause as Error).message}`)
    }
  }
  if (!options.configFile) options.exchange = managedExchange(get, options.redisUrl as string)
  return options
}

/**
 * managedExchange reads the exchange flags managed mode needs: the sidecar gets its provider keys
 * and its Redis user only from the operator, so a Redis URL that carries a password is refused
 * (it would be a second, unrotated way in).
 */
function managedExchange(get: (flag: Flag) => string | undefined, redisUrl: string) {
  const url = get('exchange-url')
  const ca = get('exchange-ca')
  if (!url || !ca) throw bad('managed mode needs --exchange-url and --exchange-ca (the injector sets both)')
  if (!url.startsWith('https://')) throw bad(`--exchange-url: expected https://, got ${url}`)
  if (!ca.includes('-----BEGIN CERTIFICATE-----'))
    throw bad('--exchange-ca: expected a PEM certificate bundle')
  if (hasCredentials(redisUrl))
    throw bad('--redis: in managed mode the URL must carry no user or password; the exchange provides them')
  return { url, ca, tokenFile: get('token-file') ?? TOKEN_FILE }
}
