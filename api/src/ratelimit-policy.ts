import { type Static, Type } from '@sinclair/typebox'
import {
  conditions,
  count,
  duration,
  enumOf,
  glob,
  labelSelector,
  list,
  name,
  observedGeneration,
  rules,
} from './schema-kit.ts'

export const FAILURE_MODES = ['open', 'closed'] as const
export type FailureMode = (typeof FAILURE_MODES)[number]

export const BREAKER_TRIGGERS = ['5xx', '429', 'timeout', 'connect'] as const
export const RETRY_TRIGGERS = ['5xx', '429', 'timeout', 'connect'] as const

export const Match = Type.Object(
  {
    providers: Type.Optional(
      list(name('A provider name of the tenant.'), 'Providers the limit counts; empty is all.', 16),
    ),
    models: Type.Optional(list(glob('A model glob.'), 'Models the limit counts; empty is all.', 64)),
  },
  { description: 'Which calls a limit counts.' },
)

export const PolicyLimit = Type.Object(
  {
    name: name('Name of the limit; rejections name it.'),
    match: Type.Optional(Match),
    requestsPerMinute: Type.Optional(count('Requests admitted per minute.')),
    tokensPerMinute: Type.Optional(count('Input plus output tokens per minute.')),
    tokensPerDay: Type.Optional(count('Input plus output tokens per calendar day (UTC).')),
    concurrency: Type.Optional(count('Requests in flight at once.', 100_000)),
  },
  {
    description: 'A limit on the calls that match.',
    ...rules({
      rule: 'has(self.requestsPerMinute) || has(self.tokensPerMinute) || has(self.tokensPerDay) || has(self.concurrency)',
      message: 'a limit sets at least one of requestsPerMinute, tokensPerMinute, tokensPerDay, concurrency',
    }),
  },
)

export const CircuitBreaker = Type.Object(
  {
    consecutiveFailures: Type.Optional(
      Type.Integer({
        description: 'Failures in a row that open the breaker.',
        minimum: 1,
        maximum: 1000,
        default: 5,
      }),
    ),
    openFor: Type.Optional(duration('How long the breaker stays open before probing.', { default: '30s' })),
    halfOpenProbes: Type.Optional(
      Type.Integer({
        description: 'Calls let through while half-open.',
        minimum: 1,
        maximum: 100,
        default: 1,
      }),
    ),
    // Not `on`: YAML 1.1 (kubectl) reads an unquoted `on:` key as the boolean true.
    tripOn: Type.Optional(
      list(
        enumOf(BREAKER_TRIGGERS, 'An outcome that counts as a failure.'),
        'Outcomes that count as failures.',
        4,
        {
          'x-kubernetes-list-type': 'set',
        },
      ),
    ),
  },
  { description: 'Stops calling a failing provider and model for a while; per provider and model.' },
)

export const Retry = Type.Object(
  {
    attempts: Type.Optional(
      Type.Integer({
        description: 'Retries after the first try (0 disables).',
        minimum: 0,
        maximum: 10,
        default: 2,
      }),
    ),
    backoff: Type.Optional(
      Type.Object(
        {
          base: Type.Optional(
            duration('First backoff; it doubles each retry, with jitter.', { default: '200ms' }),
          ),
          max: Type.Optional(duration('Longest backoff.', { default: '5s' })),
        },
        {
          description: 'Jittered exponential backoff.',
          ...rules({
            rule: '!has(self.base) || !has(self.max) || duration(self.base) <= duration(self.max)',
            message: 'base must not exceed max',
            fieldPath: '.base',
          }),
        },
      ),
    ),
    retryOn: Type.Optional(
      list(enumOf(RETRY_TRIGGERS, 'An outcome that is retried.'), 'Outcomes that are retried.', 4, {
        'x-kubernetes-list-type': 'set',
      }),
    ),
    respectRetryAfter: Type.Optional(
      Type.Boolean({ description: "Wait as long as the provider's Retry-After asks.", default: true }),
    ),
  },
  { description: 'Retries, only before the first response byte reaches the client.' },
)

export const Timeouts = Type.Object(
  {
    connect: Type.Optional(duration('Time to open a connection to the provider.', { default: '5s' })),
    firstByte: Type.Optional(
      duration('Time from sending the request to the first response byte.', { default: '60s' }),
    ),
    streamIdle: Type.Optional(duration('Longest pause between two chunks of a stream.', { default: '30s' })),
  },
  { description: 'Upstream timeouts.' },
)

export const TargetRef = Type.Object(
  {
    kind: enumOf(['Tenant'] as const, 'Kind of the target.'),
    name: name('Name of the Tenant.'),
  },
  { description: 'A Tenant the policy applies to.' },
)

export const RateLimitPolicySpec = Type.Object(
  {
    targetRefs: Type.Optional(
      list(TargetRef, 'Tenants the policy applies to, by name.', 64, { minItems: 1 }),
    ),
    tenantSelector: Type.Optional(labelSelector('Tenants the policy applies to, by label.')),
    limits: Type.Optional(
      list(PolicyLimit, 'Limits; every limit that matches a call must admit it.', 32, {
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
    ),
    circuitBreaker: Type.Optional(CircuitBreaker),
    retry: Type.Optional(Retry),
    timeouts: Type.Optional(Timeouts),
    // No schema default: a defaulted field would be "set" in every policy, so any two policies on
    // one tenant would conflict over it. compileTenantConfig applies `open` when no policy sets it.
    failureMode: Type.Optional(
      enumOf(
        FAILURE_MODES,
        'When Redis is unreachable: open serves with local limits, closed answers 503. Defaults to open.',
      ),
    ),
    shadow: Type.Optional(
      Type.Boolean({
        description: 'Evaluate, count and report the limits, but never reject.',
        default: false,
      }),
    ),
  },
  {
    description: 'Limits and resilience settings for one or more tenants.',
    ...rules({
      rule: 'has(self.targetRefs) != has(self.tenantSelector)',
      message: 'set exactly one of targetRefs or tenantSelector',
      fieldPath: '.targetRefs',
    }),
  },
)

export const PolicyTarget = Type.Object(
  {
    name: name('Tenant name.'),
    accepted: Type.Boolean({ description: 'Whether the policy is in force for this tenant.' }),
    reason: Type.String({ description: 'Why, as one CamelCase word.', maxLength: 128 }),
    message: Type.Optional(
      Type.String({ description: 'Details, e.g. which policy won a conflict.', maxLength: 4096 }),
    ),
  },
  { description: 'How the policy applies to one tenant.' },
)

export const RateLimitPolicyStatus = Type.Object(
  {
    observedGeneration: Type.Optional(observedGeneration),
    conditions: Type.Optional(conditions),
    targets: Type.Optional(
      list(PolicyTarget, 'Tenants the policy selects.', 1024, {
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
    ),
  },
  { description: 'What the operator observed and did.' },
)

export type RateLimitPolicySpec = Static<typeof RateLimitPolicySpec>
export type RateLimitPolicyStatus = Static<typeof RateLimitPolicyStatus>
export type PolicyLimit = Static<typeof PolicyLimit>
export type CircuitBreaker = Static<typeof CircuitBreaker>
export type Retry = Static<typeof Retry>
export type Timeouts = Static<typeof Timeouts>
