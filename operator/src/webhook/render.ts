import type { V1Container, V1EnvVar, V1Volume } from '@kubernetes/client-node'
import {
  EXCHANGE_AUDIENCE,
  type Provider,
  SIDECAR_PORTS,
  type Tenant,
  TOKEN_DIR,
  TOKEN_EXPIRATION_SECONDS,
} from '@tollgate/api'
import type { InjectionConfig } from './injection-config.ts'
import { PLACEHOLDER_KEY, SIDECAR_CONTAINER, TOKEN_VOLUME } from './names.ts'

/**
 * InjectionTrust is how the sidecar finds and trusts the operator: the exchange URL and the CA
 * bundle of the operator's serving certificate. Both are public; nothing secret is rendered.
 */
export interface InjectionTrust {
  exchangeURL: string
  caBundle: string
}

/** Rendered is everything injection adds to a pod, before it is merged in. */
export interface Rendered {
  sidecar: V1Container
  /** The projected ServiceAccount token of audience tollgate.dev; only the sidecar mounts it. */
  volume: V1Volume
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
 * renderTokenVolume is the sidecar's identity: a ServiceAccount token bound to the pod, good only
 * for the operator's exchange (audience tollgate.dev) and only for ten minutes; kubelet renews it.
 */
export function renderTokenVolume(): V1Volume {
  return {
    name: TOKEN_VOLUME,
    projected: {
      sources: [
        {
          serviceAccountToken: {
            audience: EXCHANGE_AUDIENCE,
            expirationSeconds: TOKEN_EXPIRATION_SECONDS,
            path: 'token',
          },
        },
      ],
    },
  }
}

/** renderSidecar builds the native sidecar: an init container that keeps running (restartPolicy Always). */
export function renderSidecar(
  tenant: Tenant,
  namespace: string,
  config: InjectionConfig,
  trust: InjectionTrust,
  workload?: string,
): V1Container {
  const redis: V1EnvVar = { name: 'TOLLGATE_REDIS_URL', value: config.redis.url }
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
      ...(workload ? [{ name: 'TOLLGATE_WORKLOAD', value: workload }] : []),
      redis,
      // Only a cluster says so: pods injected for a single node keep the env (and hash) they had.
      ...(config.redis.mode === 'cluster' ? [{ name: 'TOLLGATE_REDIS_MODE', value: 'cluster' }] : []),
      { name: 'TOLLGATE_EXCHANGE_URL', value: trust.exchangeURL },
      { name: 'TOLLGATE_EXCHANGE_CA', value: trust.caBundle },
      // The proxy stays on loopback (only this pod's containers reach it); the admin port listens
      // on the pod IP because kubelet probes and Prometheus connect there.
      { name: 'TOLLGATE_LISTEN', value: `127.0.0.1:${SIDECAR_PORTS.proxy}` },
      { name: 'TOLLGATE_ADMIN_LISTEN', value: `0.0.0.0:${SIDECAR_PORTS.admin}` },
      ...(config.logLevel ? [{ name: 'TOLLGATE_LOG_LEVEL', value: config.logLevel }] : []),
      ...(config.leaseFraction !== undefined
        ? [{ name: 'TOLLGATE_LEASE_FRACTION', value: String(config.leaseFraction) }]
        : []),
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
    volumeMounts: [{ name: TOKEN_VOLUME, mountPath: TOKEN_DIR, readOnly: true }],
  }
}

/** render computes what injection adds for a tenant's pod in a namespace. */
export function render(
  tenant: Tenant,
  namespace: string,
  config: InjectionConfig,
  trust: InjectionTrust,
  workload?: string,
): Rendered {
  return {
    sidecar: renderSidecar(tenant, namespace, config, trust, workload),
    volume: renderTokenVolume(),
    ...providerEnv(tenant.spec.providers),
  }
}
