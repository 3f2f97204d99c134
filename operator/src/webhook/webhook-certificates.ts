import {
  AdmissionregistrationV1Api,
  ApiException,
  CoreV1Api,
  type KubeConfig,
  type V1OwnerReference,
  type V1Secret,
} from '@kubernetes/client-node'
import type { Logger } from './admission-handler.ts'
import type { KeyPair } from './admission-server.ts'
import { coversNames, createCA, isIssuedBy, issueServingCertificate, needsRenewal } from './webhook-pki.ts'

/** CertMode says who issues the serving certificate: the operator itself, or cert-manager. */
export type CertMode = 'operator' | 'cert-manager'

export interface WebhookCertificatesOptions {
  kc: KubeConfig
  /** Namespace of the Secret (the operator's own). */
  namespace: string
  secretName: string
  /** Set on the Secret (operator mode), so it is garbage-collected with its owner. */
  owner?: V1OwnerReference
  /** MutatingWebhookConfiguration whose caBundle is kept in step (operator mode only). */
  webhookConfigName: string
  /** DNS names of the webhook Service, e.g. `tollgate-webhook.tollgate-system.svc`. */
  dnsNames: string[]
  ipAddresses?: string[]
  mode: CertMode
  /**
   * Called with the serving pair and the CA bundle that verifies it (the CA, plus the previous
   * one while a rotation is under way) whenever either differs from the last.
   */
  onCertificate(pair: KeyPair, caBundle: string): void
  logger: Logger
  now?: () => Date
  caValidForDays?: number
  servingValidForDays?: number
}

const KEYS = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  previousCA: 'ca-previous.crt',
  cert: 'tls.crt',
  key: 'tls.key',
}

const decode = (secret: V1Secret | undefined, key: string) => {
  const value = secret?.data?.[key]
  return value ? Buffer.from(value, 'base64').toString('utf8') : undefined
}
const encode = (text: string) => Buffer.from(text).toString('base64')
const isCode = (err: unknown, code: number) => err instanceof ApiException && err.code === code

/**
 * WebhookCertificates keeps the webhook's TLS in order. In operator mode it keeps a CA and a
 * serving certificate in one Secret, created only if absent and replaced only with the
 * resourceVersion it read, so replicas that race agree on one winner; it renews each with a third
 * of its lifetime left, and keeps the MutatingWebhookConfiguration's caBundle equal to the CA
 * (plus the previous CA while it is still valid, so replicas still serving the old certificate
 * are trusted until they reload). In cert-manager mode it only reads the Secret cert-manager
 * writes. Either way it hands every new serving pair to `onCertificate`.
 */
export class WebhookCertificates {
  readonly #core: CoreV1Api
  readonly #admission: AdmissionregistrationV1Api
  readonly #opts: WebhookCertificatesOptions
  #served: string | undefined
  #bundle: string | undefined
  #timer: NodeJS.Timeout | undefined

  constructor(opts: WebhookCertificatesOptions) {
    this.#opts = opts
    this.#core = opts.kc.makeApiClient(CoreV1Api)
    this.#admission = opts.kc.makeApiClient(AdmissionregistrationV1Api)
  }

  /** sync makes the Secret and caBundle right once and returns the serving pair. */
  async sync(): Promise<KeyPair> {
    let secret: V1Secret | undefined
    for (let attempt = 0; ; attempt++) {
      secret = await this.#readSecret()
      if (this.#opts.mode === 'cert-manager') break
      const wanted = this.#wantedData(secret)
      if (!wanted) break
      try {
        secret = await this.#writeSecret(secret, wanted)
        this.#opts.logger.info({ secret: this.#opts.secretName }, 'webhook certificate issued')
        break
      } catch (err) {
        // Another replica wrote first: read its certificate and use that one.
        if (!(isCode(err, 409) && attempt < 3))
          throw new Error('write webhook certificate Secret', { cause: err })
      }
    }
    const cert = decode(secret, KEYS.cert)
    const key = decode(secret, KEYS.key)
    if (!cert || !key) {
      throw new Error(
        `Secret ${this.#opts.namespace}/${this.#opts.secretName} holds no tls.crt and tls.key yet`,
      )
    }
    const bundle = this.#caBundle(secret)
    if (this.#opts.mode === 'operator') await this.#patchCABundle(bundle)
    if (cert !== this.#served || bundle !== this.#bundle) {
      this.#served = cert
      this.#bundle = bundle
      this.#opts.onCertificate({ cert, key }, bundle)
    }
    return { cert, key }
  }

  /** start syncs now, then every intervalMs; errors are logged and retried on the next tick. */
  async start(intervalMs = 30_000): Promise<KeyPair> {
    const pair = await this.sync()
    const tick = () => {
      this.#timer = setTimeout(() => {
        this.sync()
          .catch((err) => this.#opts.logger.error({ err }, 'webhook certificate sync failed'))
          .finally(() => {
            if (this.#timer) tick()
          })
      }, intervalMs)
      this.#timer.unref()
    }
    tick()
    return pair
  }

  stop() {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** #wantedData returns new Secret data when something must be (re)issued, else undefined. */
  #wantedData(secret: V1Secret | undefined): Record<string, string> | undefined {
    const now = this.#opts.now?.() ?? new Date()
    const caCert = decode(secret, KEYS.caCert)
    const caKey = decode(secret, KEYS.caKey)
    const cert = decode(secret, KEYS.cert)
    const caOk = caCert !== undefined && caKey !== undefined && !needsRenewal(caCert, now)
    const certOk =
      caOk &&
      cert !== undefined &&
      decode(secret, KEYS.key) !== undefined &&
      !needsRenewal(cert, now) &&
      isIssuedBy(cert, caCert) &&
      coversNames(cert, this.#opts.dnsNames)
    if (certOk) return undefined
    const ca = caOk
      ? { cert: caCert, key: caKey }
      : createCA({ commonName: 'tollgate-webhook-ca', validForDays: this.#opts.caValidForDays ?? 3650, now })
    const serving = issueServingCertificate(ca, {
      dnsNames: this.#opts.dnsNames,
      ipAddresses: this.#opts.ipAddresses ?? [],
      validForDays: this.#opts.servingValidForDays ?? 365,
      now,
    })
    const previous =
      !caOk && caCert && !needsRenewal(caCert, now, 0) ? caCert : decode(secret, KEYS.previousCA)
    return {
      [KEYS.caCert]: encode(ca.cert),
      [KEYS.caKey]: encode(ca.key),
      [KEYS.cert]: encode(serving.cert),
      [KEYS.key]: encode(serving.key),
      ...(previous && { [KEYS.previousCA]: encode(previous) }),
    }
  }

  #caBundle(secret: V1Secret | undefined): string {
    const now = this.#opts.now?.() ?? new Date()
    const previous = decode(secret, KEYS.previousCA)
    const stillValid = previous !== undefined && !needsRenewal(previous, now, 0)
    return `${decode(secret, KEYS.caCert) ?? ''}${stillValid ? previous : ''}`
  }

  async #readSecret(): Promise<V1Secret | undefined> {
    try {
      return await this.#core.readNamespacedSecret({
        name: this.#opts.secretName,
        namespace: this.#opts.namespace,
      })
    } catch (err) {
      if (isCode(err, 404)) return undefined
      throw new Error('read webhook certificate Secret', { cause: err })
    }
  }

  async #writeSecret(current: V1Secret | undefined, data: Record<string, string>): Promise<V1Secret> {
    const { namespace, secretName: name } = this.#opts
    const body: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: {
        name,
        namespace,
        labels: {
          'app.kubernetes.io/managed-by': 'tollgate-operator',
          'app.kubernetes.io/component': 'webhook',
        },
        ...(this.#opts.owner && { ownerReferences: [this.#opts.owner] }),
        ...(current?.metadata?.resourceVersion && { resourceVersion: current.metadata.resourceVersion }),
      },
      data,
    }
    return current
      ? await this.#core.replaceNamespacedSecret({ name, namespace, body })
      : await this.#core.createNamespacedSecret({ namespace, body })
  }

  async #patchCABundle(bundle: string) {
    const name = this.#opts.webhookConfigName
    try {
      const config = await this.#admission.readMutatingWebhookConfiguration({ name })
      const encoded = encode(bundle)
      let changed = false
      for (const webhook of config.webhooks ?? []) {
        if (webhook.clientConfig.caBundle !== encoded) {
          webhook.clientConfig.caBundle = encoded
          changed = true
        }
      }
      if (!changed) return
      await this.#admission.replaceMutatingWebhookConfiguration({ name, body: config })
      this.#opts.logger.info({ webhookConfiguration: name }, 'webhook caBundle updated')
    } catch (err) {
      // Missing (not installed yet) or changed under us (409): the next tick tries again.
      if (isCode(err, 404) || isCode(err, 409)) {
        this.#opts.logger.warn(
          { webhookConfiguration: name, code: (err as ApiException<unknown>).code },
          'caBundle not updated yet',
        )
        return
      }
      throw new Error('update webhook caBundle', { cause: err })
    }
  }
}
