import { type Static, Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { parse } from 'yaml'

/**
 * InjectionConfig is what the sidecar template takes from the chart (`sidecar.*` values, rendered
 * into the operator's ConfigMap and read with `--injection-config`). It is part of the inputs hash
 * recorded on every injected pod, so a change of image or resources is visible on old pods.
 */
export const InjectionConfig = Type.Object(
  {
    image: Type.String({ minLength: 1, description: 'Sidecar image reference.' }),
    imagePullPolicy: Type.Optional(
      Type.Union([Type.Literal('Always'), Type.Literal('IfNotPresent'), Type.Literal('Never')]),
    ),
    resources: Type.Optional(
      Type.Object(
        {
          requests: Type.Optional(Type.Record(Type.String(), Type.String())),
          limits: Type.Optional(Type.Record(Type.String(), Type.String())),
        },
        { additionalProperties: false },
      ),
    ),
    securityContext: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    redis: Type.Object(
      {
        url: Type.String({ minLength: 1 }),
        /** cluster: url is a seed node of a Redis Cluster (TOLLGATE_REDIS_MODE). Default single. */
        mode: Type.Optional(Type.Union([Type.Literal('single'), Type.Literal('cluster')])),
      },
      { additionalProperties: false },
    ),
    logLevel: Type.Optional(
      Type.Union(['error', 'warn', 'info', 'debug', 'trace'].map((l) => Type.Literal(l))),
    ),
    /** The sidecars' --lease-fraction (TOLLGATE_LEASE_FRACTION); absent: the sidecar's default. */
    leaseFraction: Type.Optional(Type.Number({ minimum: 0, maximum: 0.5 })),
    env: Type.Optional(
      Type.Array(Type.Object({ name: Type.String({ minLength: 1 }), value: Type.String() })),
    ),
  },
  { additionalProperties: false },
)
export type InjectionConfig = Static<typeof InjectionConfig>

/** DEFAULT_SECURITY_CONTEXT is the restricted Pod Security profile, plus a read-only root. */
export const DEFAULT_SECURITY_CONTEXT = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  seccompProfile: { type: 'RuntimeDefault' },
}

/** DEFAULT_INJECTION_CONFIG is what the chart's default values render to. */
export const DEFAULT_INJECTION_CONFIG: InjectionConfig = {
  image: 'ghcr.io/tollgate-dev/tollgate-sidecar:0.1.0',
  imagePullPolicy: 'IfNotPresent',
  resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
  securityContext: DEFAULT_SECURITY_CONTEXT,
  redis: { url: 'redis://tollgate-redis.tollgate-system.svc:6379' },
}

/**
 * parseInjectionConfig reads the YAML (or JSON) text of an injection config, fills defaults and
 * throws one error naming every invalid field.
 */
export function parseInjectionConfig(text: string): InjectionConfig {
  const raw = parse(text) ?? {}
  const config = { ...DEFAULT_INJECTION_CONFIG, ...raw }
  // Quantities may be written as bare numbers (`cpu: 1`); the pod spec wants strings.
  for (const group of ['requests', 'limits'] as const) {
    const values = config.resources?.[group]
    if (values && typeof values === 'object') {
      config.resources[group] = Object.fromEntries(
        Object.entries(values).map(([k, v]) => [k, typeof v === 'number' ? String(v) : v]),
      )
    }
  }
  const problems = [...Value.Errors(InjectionConfig, config)].map((e) => `${e.path || '/'}: ${e.message}`)
  const redis = config.redis ?? {}
  if (typeof redis.url === 'string' && /^rediss?:\/\/[^/]*@/.test(redis.url))
    problems.push(
      '/redis/url: must not carry a user or password (sidecars get their own Redis user from the exchange)',
    )
  if (problems.length > 0) {
    throw Object.assign(new Error(`invalid injection config: ${problems.join('; ')}`), {
      code: 'TOLLGATE_ERR_INVALID_CONFIG',
    })
  }
  return config as InjectionConfig
}
