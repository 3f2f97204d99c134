import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node'
import { ANNOTATIONS, LABELS, type Tenant } from '@tollgate/api'
import { createPatch, type Operation } from 'rfc6902'
import { type Decision, type DecisionInput, injectRequired } from './decide.ts'
import { type InjectedRecord, inputsHash } from './injected-annotation.ts'
import type { InjectionConfig } from './injection-config.ts'
import { type InjectionTrust, type Rendered, render } from './render.ts'

/** InjectionResult is what the admission handler needs to answer. */
export interface InjectionResult {
  decision: Decision
  /** RFC 6902 operations turning the submitted pod into the injected one; empty when skipped. */
  patch: Operation[]
  /** The pod as it will be stored. */
  pod: V1Pod
  /** Notes for the person who created the pod (admission warnings). */
  warnings: string[]
}

/** InjectionInput is what injectPod takes: the decision's inputs and the template's. */
export type InjectionInput = DecisionInput & {
  config: InjectionConfig
  trust: InjectionTrust
  /** The pod's workload (workload-owner.ts), passed to the sidecar as TOLLGATE_WORKLOAD. */
  workload?: string
}

/**
 * injectPod is the whole injection, in Istio's shape: decide (injectRequired) → render the
 * sidecar, volume and variables → post-process in small named steps on a copy → attest → JSON
 * patch. Pure: the same inputs give the same patch, and a second pass over its output changes
 * nothing.
 */
export function injectPod(input: InjectionInput): InjectionResult {
  const decision = injectRequired(input)
  if (!decision.inject) return { decision, patch: [], pod: input.pod, warnings: [] }
  const { tenant } = decision
  const namespace = input.namespace.name
  let rendered: Rendered
  try {
    rendered = render(tenant, namespace, input.config, input.trust, input.workload)
  } catch (cause) {
    throw new Error('render sidecar template', { cause })
  }
  const pod = structuredClone(input.pod)
  const warnings: string[] = []
  addSidecar(pod, rendered)
  addTokenVolume(pod, rendered)
  nameServiceAccount(pod)
  routeAppContainers(pod, rendered, warnings)
  labelAndAnnotate(pod, tenant, {
    v: 2,
    tenant: tenant.metadata.name,
    image: input.config.image,
    providers: tenant.spec.providers.map((p) => p.name),
    containers: (pod.spec?.containers ?? []).map((c) => c.name),
    hash: inputsHash(tenant, namespace, input.config, input.trust),
    sig: input.attestor.sign(pod, namespace, tenant.metadata.name),
  })
  return { decision, patch: createPatch(input.pod, pod), pod, warnings }
}

/**
 * addSidecar puts the sidecar first among the init containers, so init containers after it can
 * call through it too, and every app container starts after its startup probe passed.
 */
function addSidecar(pod: V1Pod, { sidecar }: Rendered) {
  const spec = pod.spec as NonNullable<V1Pod['spec']>
  spec.initContainers = [sidecar, ...(spec.initContainers ?? [])]
}

/** addTokenVolume adds the projected token volume; only the sidecar mounts it. */
function addTokenVolume(pod: V1Pod, { volume }: Rendered) {
  const spec = pod.spec as NonNullable<V1Pod['spec']>
  spec.volumes = [...(spec.volumes ?? []), volume]
}

/**
 * nameServiceAccount sets `serviceAccountName: default` on a pod that names none: the API server
 * refuses a projected token without one. The ServiceAccount admission plugin normally does the
 * same before webhooks run; this keeps injection valid where it does not (or runs later).
 */
function nameServiceAccount(pod: V1Pod) {
  const spec = pod.spec as NonNullable<V1Pod['spec']>
  if (!spec.serviceAccountName && !spec.serviceAccount) spec.serviceAccountName = 'default'
}

/**
 * routeAppContainers points every app container at the sidecar: base URLs replace whatever the
 * container set (otherwise its calls would bypass governance); placeholder keys are added only
 * where the container sets no key, since the sidecar replaces the key on the way out anyway.
 */
function routeAppContainers(pod: V1Pod, { baseURLs, placeholders }: Rendered, warnings: string[]) {
  for (const container of pod.spec?.containers ?? []) {
    const env = [...(container.env ?? [])]
    for (const variable of baseURLs) {
      const at = env.findIndex((e) => e.name === variable.name)
      if (at === -1) {
        env.push({ ...variable })
      } else if (!sameValue(env[at] as V1EnvVar, variable)) {
        warnings.push(
          `container ${container.name}: ${variable.name} replaced by ${variable.value} so calls go through the Tollgate sidecar`,
        )
        env[at] = { ...variable }
      }
    }
    for (const variable of placeholders) {
      if (!env.some((e) => e.name === variable.name)) env.push({ ...variable })
    }
    ;(container as V1Container).env = env
  }
}

const sameValue = (a: V1EnvVar, b: V1EnvVar) => a.value === b.value && a.valueFrom === undefined

/**
 * labelAndAnnotate marks the pod with its tenant and records what was injected, replacing any
 * record the pod's author wrote.
 */
function labelAndAnnotate(pod: V1Pod, tenant: Tenant, record: InjectedRecord) {
  pod.metadata ??= {}
  pod.metadata.labels = { ...pod.metadata.labels, [LABELS.tenant]: tenant.metadata.name }
  pod.metadata.annotations = { ...pod.metadata.annotations, [ANNOTATIONS.injected]: JSON.stringify(record) }
}
