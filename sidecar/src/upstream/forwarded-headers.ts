import type { ProviderType } from '@tollgate/api/tenant.ts'

/**
 * FORWARDED are the request headers an app may send a provider through the sidecar, per provider
 * type; every other header stays in the pod. An allow-list, because a deny-list cannot know the
 * headers a provider adds next: billing (`OpenAI-Organization`, `OpenAI-Project` come from the
 * Tenant, never from the app), credentials in other spellings (`api-key`), routing or caching
 * hints. What the SDKs send is here: content negotiation, their `x-stainless-*` telemetry, the
 * API version and beta flags, idempotency keys, and trace context.
 */
const COMMON = ['accept', 'content-type', 'user-agent', 'idempotency-key', 'traceparent', 'tracestate']

export const FORWARDED: Record<ProviderType, ReadonlySet<string>> = {
  openai: new Set([...COMMON, 'openai-beta']),
  'openai-compatible': new Set([...COMMON, 'openai-beta']),
  anthropic: new Set([...COMMON, 'anthropic-version', 'anthropic-beta']),
}

/** isForwarded says whether the sidecar passes an app's request header (lower case) to a provider. */
export const isForwarded = (type: ProviderType, name: string) =>
  FORWARDED[type].has(name) || name.startsWith('x-stainless-')
