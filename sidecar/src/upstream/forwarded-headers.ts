import type { ProviderType } from '@tollgate/api/tenant.ts'

/**
 * FORWARDED are the request headers an app may send a provider through the sidecar, per provider
 * type; every other header stays in the pod unless the Tenant lists it (`forwardHeaders`). An
 * allow-list, because a deny-list cannot know the headers a provider adds next: billing
 * (`OpenAI-Organization`, `OpenAI-Project` come from the Tenant, never from the app), credentials
 * in other spellings (`api-key`), routing or caching hints. What the SDKs send is here: content
 * negotiation, their `x-stainless-*` telemetry, the API version and beta flags, idempotency keys,
 * and trace context.
 */
const COMMON = ['accept', 'content-type', 'user-agent', 'idempotency-key', 'traceparent', 'tracestate']

export const FORWARDED: Record<ProviderType, ReadonlySet<string>> = {
  openai: new Set([...COMMON, 'openai-beta']),
  'openai-compatible': new Set([...COMMON, 'openai-beta']),
  anthropic: new Set([...COMMON, 'anthropic-version', 'anthropic-beta']),
}

/**
 * NEVER_FORWARDED wins over every list, the Tenant's included: credentials (the sidecar sets the
 * real one), billing (set from the Tenant), hop-by-hop and framing headers the sidecar redoes.
 */
const NEVER_FORWARDED = new Set([
  'authorization',
  'x-api-key',
  'api-key',
  'proxy-authorization',
  'cookie',
  'openai-organization',
  'openai-project',
  'host',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'content-length',
  'accept-encoding',
  'x-request-id',
])

/** HeaderAllowList is one provider's allow-list: its type's headers plus the Tenant's additions. */
export class HeaderAllowList {
  readonly #names: ReadonlySet<string>
  readonly #prefixes: string[]

  constructor(type: ProviderType, extra: readonly string[] = []) {
    this.#names = new Set([...FORWARDED[type], ...extra.filter((h) => !h.endsWith('*'))])
    this.#prefixes = ['x-stainless-', ...extra.filter((h) => h.endsWith('*')).map((h) => h.slice(0, -1))]
  }

  /** allows says whether the sidecar passes an app's request header (lower case) to the provider. */
  allows(name: string): boolean {
    if (NEVER_FORWARDED.has(name)) return false
    return this.#names.has(name) || this.#prefixes.some((p) => name.startsWith(p))
  }
}
