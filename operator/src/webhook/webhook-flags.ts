import { isIP } from 'node:net'
import { EXCHANGE_PATH, parseDuration } from '@tollgate/api'
import type { FailurePolicy } from './admission-handler.ts'
import type { CertMode } from './webhook-certificates.ts'

/** WEBHOOK_OPTIONS are the `tollgate-operator run` flags of the webhook, in node:util parseArgs form. */
export const WEBHOOK_OPTIONS = {
  'webhook-listen': { type: 'string' },
  'webhook-failure-policy': { type: 'string' },
  'webhook-cert-mode': { type: 'string' },
  'webhook-cert-secret': { type: 'string' },
  'webhook-config-name': { type: 'string' },
  'webhook-service': { type: 'string' },
  'webhook-cert-hosts': { type: 'string' },
  'injection-config': { type: 'string' },
  'exchange-url': { type: 'string' },
  'exchange-ttl': { type: 'string' },
} as const

/** WEBHOOK_HELP is the part of `--help` that describes them. */
export const WEBHOOK_HELP = `  --webhook-listen H:P      serve the injection webhook (HTTPS) here; off when unset (env TOLLGATE_WEBHOOK_LISTEN)
  --webhook-failure-policy P  Ignore (default) admits pods it cannot serve with a warning; Fail denies them
  --webhook-cert-mode M     operator (default): issue and renew the certificate; cert-manager: only read it
  --webhook-cert-secret S   Secret of the serving certificate (default tollgate-webhook-cert)
  --webhook-config-name N   MutatingWebhookConfiguration whose caBundle is kept (default tollgate)
  --webhook-service N       Service in front of the webhook; the certificate covers N.<namespace>.svc (default tollgate)
  --webhook-cert-hosts H,..  more names or IPs for the certificate, for an API server that calls a URL
                            (an operator run outside the cluster: 127.0.0.1, a host name)
  --injection-config FILE   sidecar template inputs (YAML; default: the built-in defaults)
  --exchange-url URL        where sidecars exchange their token for credentials: this server's /exchange
                            (default https://<webhook-service>.<namespace>.svc:443/exchange)
  --exchange-ttl D          how long exchanged credentials may be used (default 1h; refreshed every sixth of it)
`

/** WebhookFlags is the validated webhook configuration. */
export interface WebhookFlags {
  host: string
  port: number
  failurePolicy: FailurePolicy
  certMode: CertMode
  certSecret: string
  webhookConfigName: string
  serviceName: string
  /** The operator's namespace (env POD_NAMESPACE), where the certificate Secret lives. */
  namespace: string
  /** Extra certificate names and IP addresses (`--webhook-cert-hosts`). */
  extraDNSNames: string[]
  extraIPAddresses: string[]
  injectionConfigFile?: string
  /** The URL injected sidecars exchange their token at. */
  exchangeURL: string
  exchangeTtlMs: number
}

type Values = Partial<Record<keyof typeof WEBHOOK_OPTIONS, string>>

const invalid = (message: string) =>
  Object.assign(new Error(message), { code: 'TOLLGATE_ERR_INVALID_CONFIG' as const })

/**
 * parseWebhookFlags validates the webhook flags: undefined when the webhook is off (no
 * `--webhook-listen`), else the config; throws one TOLLGATE_ERR_INVALID_CONFIG error whose message
 * is the line to print.
 */
export function parseWebhookFlags(
  values: Values,
  env: NodeJS.ProcessEnv,
  namespace = env.POD_NAMESPACE ?? 'tollgate-system',
): WebhookFlags | undefined {
  const listen = values['webhook-listen'] ?? env.TOLLGATE_WEBHOOK_LISTEN
  if (!listen) {
    const stray = (Object.keys(WEBHOOK_OPTIONS) as (keyof Values)[]).find((k) => values[k] !== undefined)
    if (stray) throw invalid(`--${stray} needs --webhook-listen`)
    return undefined
  }
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen)
  const port = Number(match?.[3])
  if (!match || port > 65_535)
    throw invalid(`--webhook-listen: expected HOST:PORT, got ${JSON.stringify(listen)}`)
  const failurePolicy = values['webhook-failure-policy'] ?? 'Ignore'
  if (failurePolicy !== 'Ignore' && failurePolicy !== 'Fail')
    throw invalid('--webhook-failure-policy is Ignore or Fail')
  const certMode = values['webhook-cert-mode'] ?? 'operator'
  if (certMode !== 'operator' && certMode !== 'cert-manager')
    throw invalid('--webhook-cert-mode is operator or cert-manager')
  const hosts = (values['webhook-cert-hosts'] ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean)
  const serviceName = values['webhook-service'] ?? 'tollgate'
  const exchangeURL = values['exchange-url'] ?? `https://${serviceName}.${namespace}.svc:443${EXCHANGE_PATH}`
  let parsedExchange: URL | undefined
  try {
    parsedExchange = new URL(exchangeURL)
  } catch {}
  if (parsedExchange?.protocol !== 'https:') throw invalid('--exchange-url must be an https URL')
  const ttl = values['exchange-ttl'] ?? '1h'
  let exchangeTtlMs: number
  try {
    exchangeTtlMs = parseDuration(ttl)
  } catch {
    throw invalid(`--exchange-ttl: invalid duration ${JSON.stringify(ttl)}`)
  }
  if (exchangeTtlMs < 60_000) throw invalid('--exchange-ttl must be at least 1m')
  return {
    host: match[1] ?? (match[2] || '0.0.0.0'),
    port,
    failurePolicy,
    certMode,
    certSecret: values['webhook-cert-secret'] ?? 'tollgate-webhook-cert',
    webhookConfigName: values['webhook-config-name'] ?? 'tollgate',
    serviceName,
    namespace,
    extraDNSNames: hosts.filter((h) => isIP(h) === 0),
    extraIPAddresses: hosts.filter((h) => isIP(h) !== 0),
    ...(values['injection-config'] && { injectionConfigFile: values['injection-config'] }),
    exchangeURL,
    exchangeTtlMs,
  }
}
