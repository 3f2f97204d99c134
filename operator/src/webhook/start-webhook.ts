import { readFileSync } from 'node:fs'
import {
  AppsV1Api,
  AuthenticationV1Api,
  BatchV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1OwnerReference,
} from '@kubernetes/client-node'
import { EXCHANGE_PATH } from '@tollgate/api'
import type { Registry } from 'prom-client'
import { SecretReader } from '../credentials/secret-reader.ts'
import { exchangeRoute } from '../exchange/exchange-handler.ts'
import type { OperatorKeys } from '../keys/operator-keys.ts'
import type { RedisPasswords } from '../redis/redis-passwords.ts'
import type { FailurePolicy, Logger } from './admission-handler.ts'
import { AdmissionServer } from './admission-server.ts'
import { Attestor } from './attestation.ts'
import { DEFAULT_INJECTION_CONFIG, parseInjectionConfig } from './injection-config.ts'
import { InformerSources } from './injection-sources.ts'
import type { InjectionTrust } from './render.ts'
import { type CertMode, WebhookCertificates } from './webhook-certificates.ts'
import { WebhookMetrics } from './webhook-metrics.ts'
import { WorkloadOwner } from './workload-owner.ts'

/** WebhookOptions is everything `tollgate-operator` passes to the webhook (see the chart's flags). */
export interface WebhookOptions {
  kc: KubeConfig
  host: string
  port: number
  /** YAML file with the sidecar template inputs (chart: `sidecar.*`); defaults when absent. */
  injectionConfigFile?: string
  failurePolicy: FailurePolicy
  certMode: CertMode
  /** The operator's namespace, where the certificate Secret lives. */
  namespace: string
  certSecret: string
  /** Set on the certificate Secret, so it is garbage-collected with its owner. */
  owner?: V1OwnerReference
  webhookConfigName: string
  /** Name of the webhook Service: the certificate covers `<service>.<namespace>.svc`. */
  serviceName: string
  /** Extra names for the certificate (tests use 127.0.0.1 and localhost). */
  extraDNSNames?: string[]
  extraIPAddresses?: string[]
  /** The URL sidecars exchange their token at (this server's /exchange, as the pods reach it). */
  exchangeURL: string
  exchangeTtlMs: number
  keys: OperatorKeys
  passwords: RedisPasswords
  /** The operator's own Secrets in its namespace, which no pod there may read. */
  operatorSecrets: string[]
  registry: Registry
  logger: Logger
}

/** RunningWebhook is a started webhook: where it listens, whether it can answer, and how to stop it. */
export interface RunningWebhook {
  port: number
  /** The exchange URL and CA bundle this webhook renders into sidecars now. */
  trust(): InjectionTrust
  /** isReady is true once the caches hold a full list and a certificate is served. */
  isReady(): boolean
  stop(): Promise<void>
}

/**
 * startWebhook wires the injection webhook: caches of Tenants, Namespaces and CredentialGrants,
 * the certificate (issued here or by cert-manager), and the HTTPS server with the AdmissionReview
 * route and the credential exchange. Every replica serves; none needs the leader lease, since
 * injection and the exchange only read.
 */
export async function startWebhook(opts: WebhookOptions): Promise<RunningWebhook> {
  const config = opts.injectionConfigFile
    ? parseInjectionConfig(readFileSync(opts.injectionConfigFile, 'utf8'))
    : DEFAULT_INJECTION_CONFIG
  const sources = new InformerSources(opts.kc)
  const metrics = new WebhookMetrics(opts.registry)
  const attestor = new Attestor(opts.keys.derive('injection'))
  let trust: InjectionTrust = { exchangeURL: opts.exchangeURL, caBundle: '' }
  const exchange = exchangeRoute({
    authentication: opts.kc.makeApiClient(AuthenticationV1Api),
    core: opts.kc.makeApiClient(CoreV1Api),
    sources,
    secrets: new SecretReader(opts.kc.makeApiClient(CoreV1Api)),
    namespace: opts.namespace,
    configKeys: opts.keys.configKeys,
    passwords: opts.passwords,
    attestor,
    ttlMs: opts.exchangeTtlMs,
    registry: opts.registry,
    logger: opts.logger,
  })
  const workloads = new WorkloadOwner(opts.kc.makeApiClient(AppsV1Api), opts.kc.makeApiClient(BatchV1Api))
  const server = new AdmissionServer(
    {
      sources,
      config,
      trust: () => trust,
      attestor,
      operator: { namespace: opts.namespace, names: [...opts.operatorSecrets, opts.certSecret] },
      failurePolicy: opts.failurePolicy,
      metrics,
      logger: opts.logger,
      workload: (pod, namespace) => workloads.of(pod, namespace),
    },
    undefined,
    { [EXCHANGE_PATH]: exchange },
  )
  const svc = `${opts.serviceName}.${opts.namespace}.svc`
  const certificates = new WebhookCertificates({
    kc: opts.kc,
    namespace: opts.namespace,
    secretName: opts.certSecret,
    ...(opts.owner && { owner: opts.owner }),
    webhookConfigName: opts.webhookConfigName,
    dnsNames: [svc, `${svc}.cluster.local`, ...(opts.extraDNSNames ?? [])],
    ipAddresses: opts.extraIPAddresses ?? [],
    mode: opts.certMode,
    onCertificate: (pair, caBundle) => {
      server.setCertificate(pair)
      trust = { exchangeURL: opts.exchangeURL, caBundle }
    },
    logger: opts.logger,
  })
  let certified = false
  await sources.start()
  await certificates.start()
  certified = true
  const { port } = await server.listen(opts.port, opts.host)
  opts.logger.info(
    { port, failurePolicy: opts.failurePolicy, certMode: opts.certMode },
    'injection webhook listening',
  )
  return {
    port,
    trust: () => trust,
    isReady: () => certified && sources.isSynced(),
    async stop() {
      certificates.stop()
      await server.close()
      await sources.stop()
    },
  }
}
