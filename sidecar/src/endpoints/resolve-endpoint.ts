import { globMatch } from '@tollgate/api/glob.ts'
import type { RuntimeProvider } from '../config/runtime-config.ts'
import { TollgateError } from '../errors.ts'
import { ANTHROPIC_ENDPOINTS } from './anthropic-endpoints.ts'
import {
  type Endpoint,
  freeEndpoint,
  isRefused,
  modelEndpoint,
  type RefusedEndpoint,
  type TableEntry,
} from './endpoint.ts'
import { OPENAI_ENDPOINTS } from './openai-endpoints.ts'

/** Table is a compiled endpoint table: exact routes by `METHOD /path`, and routes with `{id}` segments. */
interface Table {
  exact: ReadonlyMap<string, Endpoint | RefusedEndpoint>
  patterns: readonly { method: string; segments: string[]; decision: Endpoint | RefusedEndpoint }[]
}

function compile(entries: readonly TableEntry[]): Table {
  const exact = new Map<string, Endpoint | RefusedEndpoint>()
  const patterns: Table['patterns'][number][] = []
  for (const [route, decision] of entries) {
    const [method, path] = route.split(' ') as [string, string]
    if (path.includes('{')) patterns.push({ method, segments: path.split('/'), decision })
    else exact.set(route, decision)
  }
  return { exact, patterns }
}

const TABLES = { openai: compile(OPENAI_ENDPOINTS), anthropic: compile(ANTHROPIC_ENDPOINTS) } as const

function lookup(table: Table, method: string, path: string): Endpoint | RefusedEndpoint | undefined {
  const hit = table.exact.get(`${method} ${path}`)
  if (hit) return hit
  const segments = path.split('/')
  for (const p of table.patterns) {
    if (p.method !== method || p.segments.length !== segments.length) continue
    if (p.segments.every((s, i) => s === '{id}' || s === segments[i])) return p.decision
  }
  return undefined
}

/** Methods that read or delete: free wherever the table does not say otherwise. */
const READS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE'])

/** allowedEndpoint is what `spec.providers[].endpoints.allow` makes of a path the table does not know. */
const allowedEndpoint = (provider: RuntimeProvider, as: 'model' | 'free'): Endpoint =>
  as === 'free'
    ? freeEndpoint('allowed')
    : modelEndpoint('allowed', {
        usage: provider.type === 'anthropic' ? 'anthropic' : 'openai',
        estimate: provider.type === 'anthropic' ? 'anthropic-tokens' : 'openai-tokens',
      })

/**
 * resolveEndpoint decides what a call to a provider is, from its method and normalised path
 * (below the provider prefix): an Endpoint (a governed model call or a free metadata call), or
 * the error that refuses it.
 * - `spec.providers[].endpoints.allow` comes first: the tenant named that path itself.
 * - The table of the provider's API: OpenAI's for openai and openai-compatible, Anthropic's for
 *   anthropic, matched on the path as sent upstream (the baseURL's path in front).
 * - Not in the table: reads and deletes are free; on openai and anthropic providers anything else
 *   is refused with 404 naming the setting that allows it; on openai-compatible providers a call
 *   with a body is a model call governed by estimate, one without is free.
 * - A batch endpoint is refused with 403 unless the provider's `endpoints.batches` is govern.
 */
export function resolveEndpoint(
  provider: RuntimeProvider,
  method: string,
  path: string,
  hasBody: boolean,
): Endpoint | TollgateError {
  for (const allowed of provider.endpoints.allow) {
    if (allowed.method === method && globMatch(allowed.path, path))
      return allowedEndpoint(provider, allowed.as)
  }
  const table = provider.type === 'anthropic' ? TABLES.anthropic : TABLES.openai
  const upstream = provider.basePath + path
  // an openai-compatible server's baseURL often ends in /v1 (or omits it): the table names /v1
  const candidates =
    provider.type === 'openai-compatible'
      ? [upstream, path, `/v1${path}`, upstream.replace(/^.*(?=\/v1\/)/, '')]
      : [upstream]
  let decision: Endpoint | RefusedEndpoint | undefined
  for (const candidate of candidates) {
    decision = lookup(table, method, candidate)
    if (decision) break
  }
  if (decision && isRefused(decision)) {
    return new TollgateError(
      'TOLLGATE_ERR_ENDPOINT_DISABLED',
      `${method} ${path} is refused: ${decision.reason}`,
    )
  }
  if (decision) {
    if (decision.batch && provider.endpoints.batches !== 'govern') {
      return new TollgateError(
        'TOLLGATE_ERR_ENDPOINT_DISABLED',
        `${method} ${path} is refused: a batch runs its requests later, out of sight of the sidecar's limits. ` +
          `Set spec.providers[].endpoints.batches: govern on provider ${provider.name} to charge each batch its estimate when it is submitted.`,
      )
    }
    return decision
  }
  if (READS.has(method)) return freeEndpoint('metadata')
  if (provider.type === 'openai-compatible')
    return hasBody ? allowedEndpoint(provider, 'model') : freeEndpoint('metadata')
  return new TollgateError(
    'TOLLGATE_ERR_UNKNOWN_ENDPOINT',
    `${method} ${path} is not an endpoint the sidecar governs for provider ${provider.name} (${provider.type}). ` +
      `To pass it, list it in spec.providers[].endpoints.allow with as: model (governed by estimate) or as: free (counted, never limited).`,
  )
}
