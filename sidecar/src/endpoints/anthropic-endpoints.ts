import { freeEndpoint as free, modelEndpoint as model, type TableEntry } from './endpoint.ts'

/**
 * ANTHROPIC_ENDPOINTS is every endpoint of the Anthropic API the sidecar knows, and what it does
 * with each. Every GET and DELETE under /v1 is free; a POST that is not listed is refused with 404
 * naming `spec.providers[].endpoints.allow`. The table test checks every endpoint of the
 * @anthropic-ai/sdk of the lockfile against it.
 */
export const ANTHROPIC_ENDPOINTS: TableEntry[] = [
  [
    'POST /v1/messages',
    model('messages', { usage: 'anthropic', estimate: 'anthropic-tokens', operation: 'chat' }),
  ],
  ['POST /v1/messages/count_tokens', { ...free('messages.count_tokens'), requiresModel: true }],
  [
    'POST /v1/messages/batches',
    model('messages.batches', { usage: 'none', estimate: 'anthropic-batch', batch: true, resultsUrl: true }),
  ],
  ['POST /v1/messages/batches/{id}/cancel', { ...free('messages.batches.cancel'), resultsUrl: true }],
  // answers holding message batches: their results_url is pointed at the sidecar
  ['GET /v1/messages/batches', { ...free('messages.batches.list'), resultsUrl: true }],
  ['GET /v1/messages/batches/{id}', { ...free('messages.batches.retrieve'), resultsUrl: true }],
  // the results of a governed batch carry its final usage (deferred/)
  ['GET /v1/messages/batches/{id}/results', { ...free('messages.batches.results'), report: 'batch-results' }],
  ['POST /v1/files', free('files.create')],
]
