import { hostname } from 'node:os'
import { parseArgs } from 'node:util'
import { clusterSeed, isRedisMode, parseDuration, type RedisMode } from '@tollgate/api'
import { ERROR_CODES, TollgateError } from './errors.ts'
import {
  parseWebhookFlags,
  WEBHOOK_HELP,
  WEBHOOK_OPTIONS,
  type WebhookFlags,
} from './webhook/webhook-flags.ts'

export const HELP = `Usage:
  tollgate-operator [run] [flags]          reconcile Tenants and RateLimitPolicies (default)
  tollgate-operator migrate up|down|status [--database URL]
  tollgate-operator usage --tenant T [--from DATE] [--to DATE] [--format csv|json] [--database URL]

Flags of run:
  --kubeconfig FILE        kubeconfig (default: KUBECONFIG, ~/.kube/config or in-cluster)
  --redis URL              Redis (env TOLLGATE_REDIS_URL); in cluster mode one seed node
  --redis-mode MODE        single or cluster: one node, or a Redis Cluster (env TOLLGATE_REDIS_MODE,
                           default single)
  --database URL           Postgres (env TOLLGATE_DATABASE_URL)
  --metrics-listen H:P     /metrics and /api/v1/usage (default 127.0.0.1:8080)
  --health-listen H:P      /healthz and /readyz (default 127.0.0.1:8081)
  --console-listen H:P     the web console and the analytics API (default: none)
  --console-auth MODE      token: sign in with a bearer token (default); proxy: trust the user an
                           authenticating proxy names in --console-proxy-user-header
                           (default X-Forwarded-User) and --console-proxy-groups-header
                           (default X-Forwarded-Groups); bearer tokens work in both
  --end-users-per-hour N   distinct end users per tenant and hour in the ledger, the rest count as
                           'other' (default 100; 0: no end-user dimension)
  --tiers FILE             YAML tier table overriding the shipped defaults
  --prices FILE            YAML price table replacing the shipped one
  --workers N              reconciles at once per controller (default 16)
  --resync DURATION        full re-list of every informer (default 10m)
  --usage-interval DURATION  usage flush period (default 5s)
  --lease-namespace NS     namespace of the leader Lease (env POD_NAMESPACE, default tollgate-system)
  --lease-name NAME        name of the leader Lease (default tollgate-operator)
  --lease-duration D       default 15s;  --renew-deadline D  default 10s;  --retry-period D  default 2s
  --identity ID            leader election identity (env POD_NAME, default host-pid)
  --owner-deployment NAME  the operator's own Deployment (in the lease namespace): what the operator
                           creates there (its Lease, the webhook certificate) is owned by it, so the
                           garbage collector removes it once the Deployment is gone (helm uninstall)
  --namespace NS           the operator's namespace: its keys Secret, and the provider Secrets
                           Tenants may use without a CredentialGrant (env POD_NAMESPACE, default tollgate-system)
  --keys-secret NAME       Secret with the config signing key and the key seed, created when missing
                           (default tollgate-operator-keys)
  --redis-password-rotation D  period of each tenant's Redis password (default 24h, at least 1h)
  --alert-allow-hosts H,.. alert webhook hosts that may be http or resolve to internal addresses
  --alert-timeout D        deadline of one alert delivery (default 10s)
  --alert-default-at F,..  thresholds of a budget that names no alertAt (default 1: when used up)
  --selector SELECTOR      manage only Tenants and RateLimitPolicies with matching labels
  --no-migrate             do not run database migrations when becoming leader
  --log-level LEVEL        pino level (default info; env TOLLGATE_LOG_LEVEL)
${WEBHOOK_HELP}  -h, --help               this help
`

/** RunConfig is the validated configuration of `run`. */
export interface RunConfig {
  command: 'run'
  kubeconfig?: string
  redisUrl: string
  redisMode: RedisMode
  databaseUrl: string
  metricsListen: string
  healthListen: string
  tiersFile?: string
  pricesFile?: string
  workers: number
  resyncMs: number
  usageIntervalMs: number
  leaseNamespace: string
  leaseName: string
  leaseDurationMs: number
  renewDeadlineMs: number
  retryPeriodMs: number
  identity: string
  /** The operator's own Deployment, owner of what it creates in its namespace. */
  ownerDeployment?: string
  /** The operator's namespace (keys Secret, provider Secrets). */
  namespace: string
  keysSecret: string
  redisPasswordRotationMs: number
  alertAllowHosts: string[]
  alertTimeoutMs: number
  /** Thresholds of a budget without alertAt. */
  alertDefaultAt: number[]
  selector?: string
  migrate: boolean
  logLevel: string
  /** The console and analytics API; absent when --console-listen is not given. */
  console?: { listen: string; auth: 'token' | 'proxy'; proxyHeaders: { user: string; groups: string } }
  endUsersPerHour: number
  /** The injection webhook; absent when --webhook-listen is not given. */
  webhook?: WebhookFlags
}

export interface MigrateConfig {
  command: 'migrate'
  action: 'up' | 'down' | 'status'
  databaseUrl: string
  logLevel: string
}

export interface UsageConfig {
  command: 'usage'
  tenant: string
  from?: string
  to?: string
  format: 'csv' | 'json'
  databaseUrl: string
  logLevel: string
}

export type CliConfig = RunConfig | MigrateConfig | UsageConfig | { command: 'help' }

const OPTIONS = {
  kubeconfig: { type: 'string' },
  redis: { type: 'string' },
  'redis-mode': { type: 'string' },
  database: { type: 'string' },
  'metrics-listen': { type: 'string' },
  'health-listen': { type: 'string' },
  'console-listen': { type: 'string' },
  'console-auth': { type: 'string' },
  'console-proxy-user-header': { type: 'string' },
  'console-proxy-groups-header': { type: 'string' },
  'end-users-per-hour': { type: 'string' },
  tiers: { type: 'string' },
  prices: { type: 'string' },
  workers: { type: 'string' },
  resync: { type: 'string' },
  'usage-interval': { type: 'string' },
  'lease-namespace': { type: 'string' },
  'lease-name': { type: 'string' },
  'lease-duration': { type: 'string' },
  'renew-deadline': { type: 'string' },
  'retry-period': { type: 'string' },
  identity: { type: 'string' },
  'owner-deployment': { type: 'string' },
  namespace: { type: 'string' },
  'keys-secret': { type: 'string' },
  'redis-password-rotation': { type: 'string' },
  'alert-allow-hosts': { type: 'string' },
  'alert-timeout': { type: 'string' },
  'alert-default-at': { type: 'string' },
  selector: { type: 'string' },
  'no-migrate': { type: 'boolean' },
  'log-level': { type: 'string' },
  tenant: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  format: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  ...WEBHOOK_OPTIONS,
} as const

const RUN_ONLY = [
  'kubeconfig',
  'console-listen',
  'console-auth',
  'console-proxy-user-header',
  'console-proxy-groups-header',
  'end-users-per-hour',
  'redis',
  'redis-mode',
  'metrics-listen',
  'health-listen',
  'tiers',
  'prices',
  'workers',
  'resync',
  'usage-interval',
  'lease-namespace',
  'lease-name',
  'lease-duration',
  'renew-deadline',
  'retry-period',
  'identity',
  'owner-deployment',
  'namespace',
  'keys-secret',
  'redis-password-rotation',
  'alert-allow-hosts',
  'alert-timeout',
  'alert-default-at',
  'no-migrate',
  ...Object.keys(WEBHOOK_OPTIONS),
]
const USAGE_ONLY = ['tenant', 'from', 'to', 'format']

/**
 * parseCli validates the command line and environment into a config, or throws one
 * TOLLGATE_ERR_INVALID_CONFIG error whose message is the single line to print.
 */
export function parseCli(argv: string[], env: NodeJS.ProcessEnv): CliConfig {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (cause) {
    throw invalid((cause as Error).message)
  }
  const { values, positionals } = parsed
  if (values.help) return { command: 'help' }
  const [command = 'run', ...rest] = positionals
  const logLevel = values['log-level'] ?? env.TOLLGATE_LOG_LEVEL ?? 'info'
  const databaseUrl = values.database ?? env.TOLLGATE_DATABASE_URL
  const refuse = (flags: string[], where: string) => {
    for (const flag of flags)
      if (values[flag as keyof typeof values] !== undefined)
        throw invalid(`--${flag} is not a flag of ${where}`)
  }
  if (command === 'migrate') {
    const action = rest[0]
    if (action !== 'up' && action !== 'down' && action !== 'status')
      throw invalid('migrate needs one of up, down, status')
    if (rest.length > 1) throw invalid(`unexpected argument ${JSON.stringify(rest[1])}`)
    refuse([...RUN_ONLY, ...USAGE_ONLY], 'migrate')
    if (!databaseUrl) throw invalid('no database: set --database or TOLLGATE_DATABASE_URL')
    return { command: 'migrate', action, databaseUrl, logLevel }
  }
  if (command === 'usage') {
    if (rest.length > 0) throw invalid(`unexpected argument ${JSON.stringify(rest[0])}`)
    refuse(RUN_ONLY, 'usage')
    if (!values.tenant) throw invalid('usage needs --tenant')
    const format = values.format ?? 'csv'
    if (format !== 'csv' && format !== 'json') throw invalid('--format is csv or json')
    if (!databaseUrl) throw invalid('no database: set --database or TOLLGATE_DATABASE_URL')
    return {
      command: 'usage',
      tenant: values.tenant,
      ...(values.from && { from: values.from }),
      ...(values.to && { to: values.to }),
      format,
      databaseUrl,
      logLevel,
    }
  }
  if (command !== 'run') throw invalid(`unknown command ${JSON.stringify(command)}; see --help`)
  if (rest.length > 0) throw invalid(`unexpected argument ${JSON.stringify(rest[0])}`)
  refuse(USAGE_ONLY, 'run')
  const redisUrl = values.redis ?? env.TOLLGATE_REDIS_URL
  if (!redisUrl) throw invalid('no Redis: set --redis or TOLLGATE_REDIS_URL')
  const redisMode = values['redis-mode'] ?? env.TOLLGATE_REDIS_MODE ?? 'single'
  if (!isRedisMode(redisMode))
    throw invalid(`--redis-mode must be single or cluster, not ${JSON.stringify(redisMode)}`)
  if (redisMode === 'cluster') {
    try {
      clusterSeed(redisUrl)
    } catch (cause) {
      throw invalid(`--redis: ${(cause as Error).message}`)
    }
  }
  if (!databaseUrl) throw invalid('no database: set --database or TOLLGATE_DATABASE_URL')
  const duration = (flag: string, fallback: string) => {
    const text = (values[flag as keyof typeof values] as string | undefined) ?? fallback
    try {
      return parseDuration(text)
    } catch {
      throw invalid(`--${flag}: invalid duration ${JSON.stringify(text)} (e.g. 500ms, 5s, 10m)`)
    }
  }
  const workers = Number(values.workers ?? 16)
  if (!Number.isInteger(workers) || workers < 1 || workers > 256)
    throw invalid('--workers must be an integer from 1 to 256')
  const consoleAuth = values['console-auth'] ?? 'token'
  if (consoleAuth !== 'token' && consoleAuth !== 'proxy') throw invalid('--console-auth is token or proxy')
  if (!values['console-listen'] && (values['console-auth'] || values['console-proxy-user-header']))
    throw invalid('--console-auth and its headers need --console-listen')
  const endUsersPerHour = Number(values['end-users-per-hour'] ?? 100)
  if (!Number.isInteger(endUsersPerHour) || endUsersPerHour < 0 || endUsersPerHour > 100_000)
    throw invalid('--end-users-per-hour must be an integer from 0 to 100000')
  const namespace = values.namespace ?? env.POD_NAMESPACE ?? 'tollgate-system'
  const webhook = parseWebhookFlags(values, env, namespace)
  const config: RunConfig = {
    command: 'run',
    ...(values.kubeconfig && { kubeconfig: values.kubeconfig }),
    redisUrl,
    redisMode,
    databaseUrl,
    metricsListen: values['metrics-listen'] ?? '127.0.0.1:8080',
    healthListen: values['health-listen'] ?? '127.0.0.1:8081',
    ...(values['console-listen'] && {
      console: {
        listen: values['console-listen'],
        auth: consoleAuth,
        proxyHeaders: {
          user: (values['console-proxy-user-header'] ?? 'X-Forwarded-User').toLowerCase(),
          groups: (values['console-proxy-groups-header'] ?? 'X-Forwarded-Groups').toLowerCase(),
        },
      },
    }),
    endUsersPerHour,
    ...(values.tiers && { tiersFile: values.tiers }),
    ...(values.prices && { pricesFile: values.prices }),
    workers,
    resyncMs: duration('resync', '10m'),
    usageIntervalMs: duration('usage-interval', '5s'),
    leaseNamespace: values['lease-namespace'] ?? env.POD_NAMESPACE ?? 'tollgate-system',
    leaseName: values['lease-name'] ?? 'tollgate-operator',
    leaseDurationMs: duration('lease-duration', '15s'),
    renewDeadlineMs: duration('renew-deadline', '10s'),
    retryPeriodMs: duration('retry-period', '2s'),
    identity: values.identity ?? env.POD_NAME ?? `${hostname()}-${process.pid}`,
    ...(values['owner-deployment'] && { ownerDeployment: values['owner-deployment'] }),
    namespace,
    keysSecret: values['keys-secret'] ?? 'tollgate-operator-keys',
    redisPasswordRotationMs: duration('redis-password-rotation', '24h'),
    alertAllowHosts: (values['alert-allow-hosts'] ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
    alertTimeoutMs: duration('alert-timeout', '10s'),
    alertDefaultAt: fractions('alert-default-at', values['alert-default-at'] ?? '1'),
    ...(values.selector && { selector: values.selector }),
    migrate: !values['no-migrate'],
    logLevel,
    ...(webhook && { webhook }),
  }
  if (config.renewDeadlineMs >= config.leaseDurationMs)
    throw invalid('--renew-deadline must be shorter than --lease-duration')
  if (config.retryPeriodMs >= config.renewDeadlineMs)
    throw invalid('--retry-period must be shorter than --renew-deadline')
  if (config.redisPasswordRotationMs < 3_600_000)
    throw invalid('--redis-password-rotation must be at least 1h')
  if (webhook && webhook.exchangeTtlMs > config.redisPasswordRotationMs)
    throw invalid('--exchange-ttl must not be longer than --redis-password-rotation')
  return config
}

/** fractions parses a list like `0.8,1`: each in (0, 1], no repeats; empty is none. */
function fractions(flag: string, text: string): number[] {
  const list = text
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean)
    .map(Number)
  if (list.some((f) => !(f > 0 && f <= 1)) || new Set(list).size !== list.length)
    throw invalid(`--${flag} must be distinct fractions in (0, 1], such as 0.8,1`)
  return list.sort((a, b) => a - b)
}

const invalid = (message: string) => new TollgateError(ERROR_CODES.INVALID_CONFIG, message)
