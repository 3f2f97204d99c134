import type { ProviderType } from '@tollgate/api'

/**
 * Endpoint describes a provider API the sidecar understands: the GenAI operation name for spans,
 * whether the body must name a model, and whether an OpenAI stream needs `include_usage`.
 */
export interface Endpoint {
  /** `gen_ai.operation.name`; undefined for calls that are not model invocations (count_tokens). */
  operation: 'chat' | 'text_completion' | 'embeddings' | undefined
  /** Short name for logs: `chat.completions`, `messages`, ... */
  name: string
  requiresModel: boolean
  /** OpenAI chat/completions streams report usage only when asked with `stream_options`. */
  streamUsageOption: boolean
}

const OPENAI: [suffix: string, endpoint: Endpoint][] = [
  [
    '/chat/completions',
    { operation: 'chat', name: 'chat.completions', requiresModel: true, streamUsageOption: true },
  ],
  [
    '/completions',
    { operation: 'text_completion', name: 'completions', requiresModel: true, streamUsageOption: true },
  ],
  [
    '/embeddings',
    { operation: 'embeddings', name: 'embeddings', requiresModel: true, streamUsageOption: false },
  ],
  ['/responses', { operation: 'chat', name: 'responses', requiresModel: true, streamUsageOption: false }],
]

const ANTHROPIC: [suffix: string, endpoint: Endpoint][] = [
  ['/messages', { operation: 'chat', name: 'messages', requiresModel: true, streamUsageOption: false }],
  [
    '/messages/count_tokens',
    { operation: undefined, name: 'messages.count_tokens', requiresModel: true, streamUsageOption: false },
  ],
]

/**
 * endpointOf classifies a POST by the end of its path (query removed). Anything else (GET /models,
 * files, batches, any path of an openai-compatible server) is proxied as is, with no model check.
 */
export function endpointOf(
  type: ProviderType,
  method: string | undefined,
  path: string,
): Endpoint | undefined {
  if (method !== 'POST') return undefined
  const q = path.indexOf('?')
  const bare = q === -1 ? path : path.slice(0, q)
  const table = type === 'anthropic' ? ANTHROPIC : OPENAI
  for (const [suffix, endpoint] of table) if (bare.endsWith(suffix)) return endpoint
  return undefined
}
