import { type Static, Type } from '@sinclair/typebox'
import {
  conditions,
  count,
  duration,
  enumOf,
  glob,
  labelSelector,
  list,
  money,
  name,
  observedGeneration,
  rules,
  secretKeyRef,
} from './schema-kit.ts'

export const TIERS = ['free', 'standard', 'pro', 'enterprise', 'unlimited'] as const
export type Tier = (typeof TIERS)[number]

export const PROVIDER_TYPES = ['openai', 'anthropic', 'openai-compatible'] as const
export type ProviderType = (typeof PROVIDER_TYPES)[number]

export const BUDGET_PERIODS = ['day', 'month'] as const
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number]

export const UNPRICED_MODEL_MODES = ['deny', 'estimate'] as const
export const UNPRICED_FEE_MODES = ['deny', 'allow'] as const
export const ENDPOINT_SWITCHES = ['refuse', 'govern'] as const
export const ALLOWED_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const

export const Endpoints = Type.Object(
  {
    batches: Type.Optional(
      enumOf(
        ENDPOINT_SWITCHES,
        'Batch APIs (OpenAI /v1/batches, Anthropic /v1/messages/batches). refuse (default): 403. govern: every request of the batch passes the model rules and the price table, and the batch is charged its estimate at the batch price when submitted.',
        { default: 'refuse' },
      ),
    ),
    backgroundResponses: Type.Optional(
      enumOf(
        ENDPOINT_SWITCHES,
        'Responses with background: true, whose usage is known only later. refuse (default): 403. govern: charged the estimate when submitted.',
        { default: 'refuse' },
      ),
    ),
    allow: Type.Optional(
      list(
        Type.Object(
          {
            method: enumOf(ALLOWED_METHODS, 'HTTP method.'),
            path: Type.String({
              description:
                'Path below the provider prefix after normalisation, e.g. /v1/fine_tuning/jobs; * matches any run of characters.',
              minLength: 1,
              maxLength: 256,
              pattern: '^/[A-Za-z0-9._~*/-]*$',
            }),
            as: enumOf(
              ['model', 'free'] as const,
              'model: governed as a model call by estimate (limits, budgets, the model rules); free: passed and counted as a request, never limited.',
            ),
          },
          { description: 'An endpoint the sidecar does not know, allowed for this provider.' },
        ),
        'Endpoints of openai and anthropic providers that the sidecar does not know and would refuse with 404.',
        32,
      ),
    ),
  },
  {
    description: 'Which endpoints of the provider the sidecar serves beyond the ones it governs by default.',
  },
)

export const Provider = Type.Object(
  {
    name: name('Route prefix in the sidecar: requests to /<name>/... go to this provider.'),
    type: enumOf(PROVIDER_TYPES, 'API the provider speaks.'),
    baseURL: Type.Optional(
      Type.String({
        description:
          'Base URL of the API, e.g. https://api.openai.com. Defaults to the official endpoint of the type.',
        maxLength: 2048,
        pattern: '^https?://[^\\s/$.?#][^\\s]*$',
      }),
    ),
    credentialsSecretRef: Type.Optional(
      secretKeyRef(
        "Secret that holds the API key: in the operator's namespace, or in a namespace whose CredentialGrant names this Tenant and Secret. Only the tenant's sidecars receive the key, in memory, over the operator's credential exchange; the app never sees it.",
      ),
    ),
    organization: Type.Optional(
      Type.String({
        description:
          'OpenAI organization the calls are billed to (sent as OpenAI-Organization); the app cannot choose another.',
        minLength: 1,
        maxLength: 128,
        pattern: '^[A-Za-z0-9_-]+$',
      }),
    ),
    project: Type.Optional(
      Type.String({
        description:
          'OpenAI project the calls are billed to (sent as OpenAI-Project); the app cannot choose another.',
        minLength: 1,
        maxLength: 128,
        pattern: '^[A-Za-z0-9_-]+$',
      }),
    ),
    forwardHeaders: Type.Optional(
      list(
        Type.String({
          description: 'A lower-case header name, or a prefix ending in * (x-portkey-*).',
          minLength: 1,
          maxLength: 64,
          pattern: '^[a-z0-9][a-z0-9-]*\\*?$',
        }),
        "App request headers forwarded to this provider besides those the sidecar forwards for its type (content type, the SDKs' own, API version and beta flags, trace context). Credential and billing headers are never forwarded.",
        32,
        {
          'x-kubernetes-list-type': 'set',
          ...rules({
            rule: "self.all(h, !(h in ['authorization', 'x-api-key', 'api-key', 'proxy-authorization', 'cookie', 'openai-organization', 'openai-project']))",
            message: 'credential and billing headers come from Tollgate and the Tenant, never from the app',
          }),
        },
      ),
    ),
    endpoints: Type.Optional(Endpoints),
  },
  {
    description: 'An LLM API the tenant may call.',
    ...rules(
      {
        rule: "self.type != 'openai-compatible' || has(self.baseURL)",
        message: 'baseURL is required for type openai-compatible',
        fieldPath: '.baseURL',
        reason: 'FieldValueRequired',
      },
      {
        rule: "self.type == 'openai' || (!has(self.organization) && !has(self.project))",
        message: 'organization and project are OpenAI billing headers: only for type openai',
        fieldPath: '.organization',
        reason: 'FieldValueForbidden',
      },
    ),
  },
)

export const Limits = Type.Object(
  {
    requestsPerMinute: Type.Optional(count('Requests admitted per minute.')),
    tokensPerMinute: Type.Optional(count('Input plus output tokens per minute.')),
    tokensPerDay: Type.Optional(count('Input plus output tokens per calendar day (UTC).')),
    concurrency: Type.Optional(count('Requests in flight at once.', 100_000)),
  },
  { description: 'Tenant-wide limits; a field left out takes the tier default.' },
)

export const Budget = Type.Object(
  {
    period: enumOf(BUDGET_PERIODS, 'Calendar period the budget covers.'),
    limitUSD: money('Spend allowed per period in US dollars, as a decimal string ("50", "12.5").'),
    timezone: Type.Optional(
      Type.String({
        description:
          'IANA time zone the period is aligned to (midnight, first of the month). Defaults to UTC.',
        maxLength: 64,
        pattern: '^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$',
        default: 'UTC',
      }),
    ),
    alertAt: Type.Optional(
      list(
        Type.Number({ description: 'Fraction of the limit, from 0.01 to 1.', minimum: 0.01, maximum: 1 }),
        'Fractions of the limit at which one alert per period is sent, e.g. [0.8, 1.0].',
        8,
        rules({ rule: 'self.all(a, self.exists_one(b, b == a))', message: 'alertAt values must be unique' }),
      ),
    ),
  },
  { description: 'A spending limit; calls are refused once it is used up, until the period resets.' },
)

export const Pricing = Type.Object(
  {
    model: glob('Model name or glob the price applies to; the most specific match wins.'),
    provider: Type.Optional(
      enumOf(
        ['openai', 'anthropic'] as const,
        'Whose API serves the model (openai also covers openai-compatible providers); absent: every provider.',
      ),
    ),
    inputPerMTok: money('USD per million input tokens.'),
    outputPerMTok: money('USD per million output tokens.'),
    cachedInputPerMTok: Type.Optional(
      money('USD per million cached input tokens (cache reads); defaults to inputPerMTok.'),
    ),
    cacheWrite5mPerMTok: Type.Optional(
      money(
        'USD per million tokens written to the 5-minute prompt cache; defaults to 1.25x inputPerMTok for provider anthropic, else inputPerMTok.',
      ),
    ),
    cacheWrite1hPerMTok: Type.Optional(
      money(
        'USD per million tokens written to the 1-hour prompt cache; defaults to 2x inputPerMTok for provider anthropic, else inputPerMTok.',
      ),
    ),
    audioInputPerMTok: Type.Optional(money('USD per million audio input tokens; defaults to inputPerMTok.')),
    audioOutputPerMTok: Type.Optional(
      money('USD per million audio output tokens; defaults to outputPerMTok.'),
    ),
    imageInputPerMTok: Type.Optional(money('USD per million image input tokens; defaults to inputPerMTok.')),
    imageOutputPerMTok: Type.Optional(
      money('USD per million image output tokens; defaults to outputPerMTok.'),
    ),
    // a map (additionalProperties): structural schemas have no patternProperties
    perImage: Type.Optional(
      Type.Unsafe<Record<string, string>>({
        type: 'object',
        description:
          'USD per generated image by "<quality>:<size>" or "<size>", e.g. {"hd:1024x1792": "0.12"}.',
        maxProperties: 16,
        additionalProperties: money('USD per image.'),
      }),
    ),
    perMinute: Type.Optional(money('USD per minute of input audio, billed by the second.')),
    perMCharacters: Type.Optional(money('USD per million characters of input text (speech).')),
    perWebSearch: Type.Optional(
      money("USD per search of the provider's web search tool; defaults to 0.01 for provider anthropic."),
    ),
    dataResidencyFactor: Type.Optional(
      money(
        'Factor on every token of a call pinned to one region (inference_geo); defaults to 1.1 for provider anthropic.',
      ),
    ),
  },
  { description: 'A price that overrides the shipped price table for this tenant.' },
)

export const TenantSpec = Type.Object(
  {
    tier: Type.Optional(
      enumOf(
        TIERS,
        'Service tier; it sets the default limits. free | standard | pro | enterprise | unlimited.',
        {
          default: 'free',
        },
      ),
    ),
    namespaces: Type.Optional(
      list(name('A namespace.'), 'Namespaces whose pods belong to this tenant.', 64, {
        'x-kubernetes-list-type': 'set',
      }),
    ),
    namespaceSelector: Type.Optional(
      labelSelector(
        'Namespaces whose labels match also belong to this tenant, if they also carry the label tollgate.dev/tenant=<this tenant> (set by whoever may label namespaces).',
      ),
    ),
    suspended: Type.Optional(
      Type.Boolean({
        description: 'When true every call answers 403 and nothing reaches a provider.',
        default: false,
      }),
    ),
    providers: list(Provider, 'LLM APIs the tenant may call, each under its own route prefix.', 16, {
      minItems: 1,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    }),
    models: Type.Optional(
      Type.Object(
        {
          allow: Type.Optional(
            list(glob('A model glob.'), 'Models that may be called; empty allows all.', 64),
          ),
          deny: Type.Optional(
            list(glob('A model glob.'), 'Models that may never be called; wins over allow.', 64),
          ),
        },
        {
          description: 'Which models the tenant may use.',
          ...rules({
            rule: '!has(self.allow) || !has(self.deny) || !self.allow.exists(a, a in self.deny)',
            message: 'a model cannot be in both allow and deny',
            fieldPath: '.deny',
          }),
        },
      ),
    ),
    limits: Type.Optional(Limits),
    budgets: Type.Optional(
      list(Budget, 'Spending limits, at most one per period.', 2, {
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['period'],
      }),
    ),
    cache: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(
            Type.Boolean({ description: 'Serve repeated identical requests from cache.', default: false }),
          ),
          ttl: Type.Optional(duration('How long an entry is served, e.g. 1h.', { default: '1h' })),
          maxEntryBytes: Type.Optional(
            Type.Integer({
              description: 'Largest response that is stored.',
              minimum: 1,
              maximum: 67_108_864,
              default: 1_048_576,
            }),
          ),
          streaming: Type.Optional(
            Type.Boolean({ description: 'Also cache and replay streamed responses.', default: true }),
          ),
        },
        { description: 'Exact-match response cache, private to this tenant.' },
      ),
    ),
    alerts: Type.Optional(
      Type.Object(
        {
          webhookSecretRef: secretKeyRef(
            "Secret whose value is the https URL budget alerts are POSTed to (Slack-compatible JSON): in the operator's namespace, or in a namespace whose CredentialGrant names this Tenant and Secret.",
          ),
          cooldown: Type.Optional(
            duration('Least time between two alerts of the same budget.', { default: '30m' }),
          ),
        },
        { description: 'Where budget alerts go.' },
      ),
    ),
    unpricedModels: Type.Optional(
      enumOf(
        UNPRICED_MODEL_MODES,
        'A call to a model with no price in the table: deny (default) answers 403 naming the model; estimate serves it and charges the highest rates of its provider.',
        { default: 'deny' },
      ),
    ),
    unpricedFees: Type.Optional(
      enumOf(
        UNPRICED_FEE_MODES,
        'A call that asks for a fee the price table has no rates for (fast mode, priority processing, built-in tools billed per call): deny (default) answers 403 naming it; allow serves it and counts its tokens only.',
        { default: 'deny' },
      ),
    ),
    pricing: Type.Optional(
      list(Pricing, 'Prices that override the shipped price table.', 64, {
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['model'],
      }),
    ),
  },
  { description: 'What the tenant may call and how much.' },
)

export const UsageEntry = Type.Object(
  {
    period: enumOf(BUDGET_PERIODS, 'Budget period.'),
    start: Type.String({ description: 'Start of the current period.', format: 'date-time' }),
    resetsAt: Type.String({
      description: 'When the period ends and the budget resets.',
      format: 'date-time',
    }),
    requests: Type.Integer({ description: 'Requests in the period.', minimum: 0, format: 'int64' }),
    inputTokens: Type.Integer({ description: 'Input tokens in the period.', minimum: 0, format: 'int64' }),
    outputTokens: Type.Integer({ description: 'Output tokens in the period.', minimum: 0, format: 'int64' }),
    costUSD: Type.String({ description: 'Spend in the period, USD.', maxLength: 32 }),
    limitUSD: Type.Optional(Type.String({ description: 'The budget for the period, USD.', maxLength: 32 })),
    remainingUSD: Type.Optional(
      Type.String({ description: 'Budget left in the period, USD.', maxLength: 32 }),
    ),
  },
  { description: 'Spend in the current budget period.' },
)

export const TenantStatus = Type.Object(
  {
    observedGeneration: Type.Optional(observedGeneration),
    conditions: Type.Optional(conditions),
    usage: Type.Optional(
      list(UsageEntry, 'Spend per budget period.', 2, {
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['period'],
      }),
    ),
    mediatedPods: Type.Optional(
      Type.Integer({
        description: 'Running pods whose LLM calls pass through a sidecar.',
        minimum: 0,
        format: 'int32',
      }),
    ),
    appliedPolicies: Type.Optional(
      list(name('A RateLimitPolicy name.'), 'RateLimitPolicies that apply to this tenant.', 256),
    ),
    configVersion: Type.Optional(
      Type.Integer({
        description: 'Version of the compiled config last written to Redis.',
        minimum: 0,
        format: 'int64',
      }),
    ),
  },
  { description: 'What the operator observed and did.' },
)

export type TenantSpec = Static<typeof TenantSpec>
export type TenantStatus = Static<typeof TenantStatus>
export type Provider = Static<typeof Provider>
export type Budget = Static<typeof Budget>
export type Limits = Static<typeof Limits>
export type Pricing = Static<typeof Pricing>
export type UsageEntry = Static<typeof UsageEntry>
export type Endpoints = Static<typeof Endpoints>
