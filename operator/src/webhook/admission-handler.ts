import type { AdmissionRequest, AdmissionResponse } from './admission-review.ts'
import type { Attestor } from './attestation.ts'
import { isProblem, isRefusal, type SkipReason } from './decide.ts'
import { injectPod } from './inject.ts'
import type { InjectionConfig } from './injection-config.ts'
import type { InjectionSources } from './injection-sources.ts'
import type { OperatorSecrets } from './pod-refusals.ts'
import type { InjectionTrust } from './render.ts'
import type { WebhookMetrics } from './webhook-metrics.ts'

/** Logger is the part of pino the webhook uses. */
export interface Logger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

/** FailurePolicy mirrors the MutatingWebhookConfiguration: Fail denies pods that cannot be served. */
export type FailurePolicy = 'Ignore' | 'Fail'

export interface AdmissionDeps {
  sources: InjectionSources
  config: InjectionConfig
  /** The exchange URL and the CA bundle in force (the bundle changes when the CA rotates). */
  trust: () => InjectionTrust
  attestor: Attestor
  operator: OperatorSecrets
  failurePolicy: FailurePolicy
  metrics: WebhookMetrics
  logger: Logger
  /** Names the pod's workload (workload-owner.ts); without it the sidecar counts none. */
  workload?: (pod: NonNullable<AdmissionRequest['object']>, namespace: string) => Promise<string>
}

/**
 * admitPod answers one AdmissionRequest for a pod: injected (with a patch), left alone, denied
 * when it would hand an app Tollgate's credentials (any failure policy), or, for pods that wanted
 * a sidecar and cannot get one, admitted with a warning (failurePolicy Ignore) or denied
 * (failurePolicy Fail). It never throws: an internal error is one more reason to skip.
 */
export async function admitPod(request: AdmissionRequest, deps: AdmissionDeps): Promise<AdmissionResponse> {
  const { uid } = request
  const pod = request.object
  if (request.kind.kind !== 'Pod' || request.operation !== 'CREATE' || !pod || request.subResource) {
    return { uid, allowed: true }
  }
  const namespaceName = request.namespace ?? pod.metadata?.namespace ?? 'default'
  const who = { namespace: namespaceName, name: pod.metadata?.name ?? pod.metadata?.generateName ?? '' }
  try {
    const namespace = (await deps.sources.namespace(namespaceName)) ?? { name: namespaceName }
    const result = injectPod({
      pod,
      namespace,
      tenants: await deps.sources.tenants(),
      config: deps.config,
      trust: deps.trust(),
      attestor: deps.attestor,
      operator: deps.operator,
      ...(deps.workload && { workload: await deps.workload(pod, namespaceName) }),
    })
    const { decision } = result
    if (decision.inject) {
      deps.metrics.injected()
      deps.logger.info({ ...who, tenant: decision.tenant.metadata.name }, 'sidecar injected')
      return {
        uid,
        allowed: true,
        patchType: 'JSONPatch',
        patch: Buffer.from(JSON.stringify(result.patch)).toString('base64'),
        ...(result.warnings.length > 0 && { warnings: result.warnings }),
      }
    }
    return notInjected(uid, who, decision.reason, decision.message, deps)
  } catch (cause) {
    deps.logger.error({ ...who, err: cause }, 'injection failed')
    const message = `Tollgate could not decide on injection: ${(cause as Error).message}`
    return notInjected(uid, who, 'InternalError', message, deps)
  }
}

function notInjected(
  uid: string,
  who: { namespace: string; name: string },
  reason: SkipReason,
  message: string,
  deps: AdmissionDeps,
): AdmissionResponse {
  const deny = isRefusal(reason) || (deps.failurePolicy === 'Fail' && isProblem(reason))
  deps.metrics.notInjected(reason, deny)
  if (!isProblem(reason)) return { uid, allowed: true }
  deps.logger.warn({ ...who, reason }, message)
  const text = `tollgate.dev/${reason}: ${message}`
  if (deny) return { uid, allowed: false, status: { code: 403, reason: 'Forbidden', message: text } }
  return { uid, allowed: true, warnings: [`${text}; the pod runs without the Tollgate sidecar`] }
}
