import type { V1Container, V1EnvVar, V1Volume } from '@kubernetes/client-node'
import { CREDENTIALS_DIR, mirroredSecretName, type Provider, SIDECAR_PORTS, type Tenant } from '@tollgate/api'
import type { InjectionConfig } from './injection-config.ts'
import { CREDENTIALS_VOLUME, PLACEHOLDER_KEY, SIDECAR_CONTAINER } from './names.ts'

/** Rendered is everything injection adds to a pod, before it is merged in. */
export interface Rendered {
  sidecar: V1Container
  /** Absent when no provider of the tenant has a credentialsSecretRef. */
  volume?: V1Volume
  /** Base URLs every app container gets, replacing any value it had. */
  baseURLs: V1EnvVar[]
  /** Placeholder keys, set only in containers that do not set the variable themselves. */
  placeholders: V1EnvVar[]
}

const proxy = `http://127.0.0.1:${SIDECAR_PORTS.proxy}`

/** envPrefix turns a provider name into the stem of its variables: `azure-eu` → `AZURE_EU`. */
export const envPrefix = (providerName: string) => providerName.toUpperCase().replace(/[^A-Z0-9]/g, '_')

/**
 * providerEnv lists the variables that point SDKs at the sidecar. The first provider of type
 * openai and of type anthropic get the variables the official SDKs read (`OPENAI_BASE_URL`,
 * `ANTHROPIC_BASE_URL`); every other provider gets `<NAME>_BASE_URL`. OpenAI-style base URLs end
 * in `/v1` because the SDKs append paths like `/chat/completions` to it; Anthropic's SDK appends
 * `/v1/messages` itself.
 */
export function providerEnv(providers: Provider[]): { baseURLs: V1EnvVar[]; placeholders: V1EnvVar[] } {
  const baseURLs: V1EnvVar[] = []
  const placeholders: V1EnvVar[] = []
  const taken = new Set<string>()
  for (const p of providers) {
    const url = p.type === 'anthropic' ? `${proxy}/${p.name}` : `${proxy}/${p.name}/v1`
    const standard = p.type === 'openai' ? 'OPENAI' : p.type === 'anthropic' ? 'ANTHROPIC' : undefined
    const stem = standard && !taken.has(standard) ? standard : envPrefix(p.name)
    if (taken.has(stem)) continue
    taken.add(stem)
    baseURLs.push({ name: `${stem}_BASE_URL`, value: url })
    placeholders.push({ name: `${stem}_API_KEY`, value: PLACEHOLDER_KEY })
  }
  return { baseURLs, placeholders }
}

/**
 * mirroredSecretKey is the key under which the operator's mirrored Secret holds a provider's API
 * key: the provider name, whatever key the source Secret used (operator/src/reconcile/secret-mirror.ts).
 */
export const mirroredSecretKey = (provider: Provider) => provider.name

/** renderCredentialsVolume projects each provider's mirrored Secret to the file `<provider name>`. */
export function renderCredentialsVolume(tenant: Tenant): V1Volume | undefined {
  const sources = tenant.spec.providers
    .filter((p) => p.credentialsSecretRef)
    .map((p) => ({
      secret: {
        name: mirroredSecretName(tenant.metadata.name, p.name),
        items: [{ key: mirroredSecretKey(p), path: p.name }],
      },
    }))
  return sources.length > 0 ? { name: CREDENTIALS_VOLUME, projected: { sources } } : undefined
}

/** renderSidecar builds the native sidecar: an init container that keeps running (restartPolicy Always). */
export function renderSidecar(tenant: Tenant, namespace: string, config: InjectionConfig): V1Container {
  const redis: V1EnvVar = config.redis.url
    ? { name: 'TOLLGATE_REDIS_URL', value: config.redis.url }
    : {
        name: 'TOLLGATE_REDIS_URL',
        valueFrom: {
          secretKeyRef: { name: config.redis.secretName as string, key: config.redis.secretKey as string },
        },
      }
  const hasCredentials = tenant.spec.providers.some((p) => p.credentialsSecretRef)
  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path, port: SIDECAR_PORTS.admin },
    periodSeconds,
    failureThreshold,
  })
  return {
    name: SIDECAR_CONTAINER,
    image: config.image,
    ...(config.imagePullPolicy && { imagePullPolicy: config.imagePullPolicy }),
    restartPolicy: 'Always',
    env: [
      { name: 'TOLLGATE_TENANT', value: tenant.metadata.name },
      { name: 'TOLLGATE_NAMESPACE', value: namespace },
      redis,
      { name: 'TOLLGATE_CREDENTIALS_DIR', value: CREDENTIALS_DIR },
      // The proxy stays on loopback (only this pod's containers reach it); the admin port listens
      // on the pod IP because kubelet probes and Prometheus connect there.
      { name: 'TOLLGATE_LISTEN', value: `127.0.0.1:${SIDECAR_PORTS.proxy}` },
      { name: 'TOLLGATE_ADMIN_LISTEN', value: `0.0.0.0:${SIDECAR_PORTS.admin}` },
      ...(config.logLevel ? [{ name: 'TOLLGATE_LOG_LEVEL', value: config.logLevel }] : []),
      ...(config.env ?? []),
    ],
    ports: [{ name: 'tollgate-admin', containerPort: SIDECAR_PORTS.admin, protocol: 'TCP' }],
    // The startup probe gates the app containers: kubelet starts them only once it passes, so the
    // app's first call never meets a closed port.
    startupProbe: probe('/healthz', 1, 60),
    livenessProbe: probe('/healthz', 10, 3),
    readinessProbe: probe('/readyz', 5, 3),
    ...(config.resources && { resources: config.resources }),
    // No writable volume: the sidecar image writes nothing (Node's compile cache is baked in for
    // uid 65532, Dockerfile.sidecar), so the chart's readOnlyRootFilesystem needs none.
    ...(config.securityContext && { securityContext: config.securityContext }),
    ...(hasCredentials && {
      volumeMounts: [{ name: CREDENTIALS_VOLUME, mountPath: CREDENTIALS_DIR, readOnly: true }],
    }),
  }
}

/** render computes what injection adds for a tenant's pod in a namespace. */
export function render(tenant: Tenant, namespace: string, config: InjectionConfig): Rendered {
  const volume = renderCredentialsVolume(tenant)
  return {
    sidecar: renderSidecar(tenant, namespace, config),
    ...(volume && { volume }),
    ...providerEnv(tenant.spec.providers),
  }
}
