// The soak's tenants: what is applied, and which fake-provider key stands for which ledger rows.

/** SOAK_PROVIDERS are each tenant's providers, one load kind each (and one API key each, so the fake's tally splits by them). */
export const SOAK_PROVIDERS = {
  /** plain, streamed and cached OpenAI chat completions */
  openai: 'openai',
  /** plain and streamed Anthropic messages */
  anthropic: 'anthropic',
  /** OpenAI streams the client aborts after the first word */
  aborts: 'openai',
  /** OpenAI calls over a requests-per-minute limit: mostly 429s */
  limited: 'openai',
} as const

export type SoakProvider = keyof typeof SOAK_PROVIDERS

/**
 * SoakTenant is one tenant and its sidecar. `closed` has a budget, which fails closed while Redis is
 * away (503 TOLLGATE_ERR_LIMITER_UNAVAILABLE is what it promises); `open` has none, so its limits
 * fail open and no call of it may get a 5xx at all.
 */
export interface SoakTenant {
  name: string
  namespace: string
  budget: boolean
  /** The real key of each provider, in the operator's namespace; the fake tallies per key. */
  keys: Record<SoakProvider, string>
}

export const soakTenants = (run: string): SoakTenant[] =>
  (['closed', 'open'] as const).map((mode) => {
    const name = `${run}-${mode}`
    return {
      name,
      namespace: `${name}-app`,
      budget: mode === 'closed',
      keys: Object.fromEntries(Object.keys(SOAK_PROVIDERS).map((p) => [p, `sk-soak-${name}-${p}`])) as Record<
        SoakProvider,
        string
      >,
    }
  })

/** LIMITED_RPM is the requests-per-minute limit of the `limited` provider, well under the load it gets. */
export const LIMITED_RPM = 30

/** manifests are every object the soak applies: namespaces, key Secrets, Tenants and the policy. */
export function manifests(options: {
  run: string
  system: string
  tenants: SoakTenant[]
  fakeUrl: string
  selector: Record<string, string>
}): Record<string, unknown>[] {
  const { run, system, tenants, fakeUrl, selector } = options
  return [
    ...tenants.flatMap((t) => [
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: t.namespace, labels: { 'tollgate.dev/inject': 'enabled', 'tollgate-soak': run } },
      },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app', namespace: t.namespace } },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `${t.name}-keys`, namespace: system },
        stringData: t.keys,
      },
      {
        apiVersion: 'tollgate.dev/v1alpha1',
        kind: 'Tenant',
        metadata: { name: t.name, labels: selector },
        spec: {
          tier: 'unlimited',
          namespaces: [t.namespace],
          providers: Object.entries(SOAK_PROVIDERS).map(([name, type]) => ({
            name,
            type,
            baseURL: fakeUrl,
            credentialsSecretRef: { namespace: system, name: `${t.name}-keys`, key: name },
            // the abort kind slows the fake's stream down with x-fake-chunk-delay-ms
            forwardHeaders: ['x-fake-*'],
          })),
          cache: { enabled: true, ttl: '1h' },
          ...(t.budget && { budgets: [{ period: 'day', limitUSD: '1000' }] }),
        },
      },
    ]),
    {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'RateLimitPolicy',
      metadata: { name: `${run}-limited`, labels: selector },
      spec: {
        targetRefs: tenants.map((t) => ({ kind: 'Tenant', name: t.name })),
        limits: [{ name: 'limited', match: { providers: ['limited'] }, requestsPerMinute: LIMITED_RPM }],
        // No failureMode: rate limits fail open and budgets closed, the defaults docs/limits.md states.
      },
    },
  ]
}
