import { readFileSync } from 'node:fs'
import type { KubeConfig, V1OwnerReference } from '@kubernetes/client-node'
import type { Registry } from 'prom-client'
import type { FailurePolicy, Logger } from './admission-handler.ts'
import { AdmissionServer } from './admission-server.ts'
import { DEFAULT_INJECTION_CONFIG, parseInjectionConfig } from './injection-config.ts'
import { InformerSources } from './injection-sources.ts'
import { type CertMode, WebhookCertificates } from './webhook-certificates.ts'
import { WebhookMetrics } from './webhook-metrics.ts'

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
  registry: Registry
  logger: Logger
}

/** RunningWebhook is a started webhook: where it listens, whether it can answer, and how to stop it. */
export interface RunningWebhook {
  port: number
  /** isReady is true once the caches hold a full list and a certificate is served. */
  isReady(): boolean
  stop(): Promise<void>
}

/**
 * startWebhook wires the injection webhook: caches of Tenants and Namespaces, the certificate
 * (issued here or by cert-manager), and the HTTPS AdmissionReview server. Every replica serves;
 * none needs the leader lease, since injection only reads.
 */
export async function startWebhook(opts: WebhookOptions): Promise<RunningWebhook> {
  const config = opts.injectionConfigFile
    ? parseInjectionConfig(readFileSync(opts.injectionConfigFile, 'utf8'))
    : DEFAULT_INJECTION_CONFIG
  const sources = new InformerSources(opts.kc)
  const metrics = new WebhookMetrics(opts.registry)
  const server = new AdmissionServer({
    sources,
    config,
    failurePolicy: opts.failurePolicy,
    metrics,
    logger: opts.logger,
  })
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
    onCertificate: (pair) => server.setCertificate(pair),
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
    isReady: () => certified && sources.isSynced(),
    async stop() {
      certificates.stop()
      await server.close()
      await sources.stop()
    },
  }
}
