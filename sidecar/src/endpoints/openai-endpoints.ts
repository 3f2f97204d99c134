import { freeEndpoint as free, modelEndpoint as model, type TableEntry } from './endpoint.ts'

const tokens = { usage: 'openai', estimate: 'openai-tokens' } as const

/**
 * OPENAI_ENDPOINTS is every endpoint of the OpenAI API the sidecar knows (paths as sent
 * upstream, below the API root), and what it does with each. Every GET and DELETE under /v1 is
 * free (reads, lists, deletes); a POST that is not listed here is refused with 404 naming
 * `spec.providers[].endpoints.allow`. The table test checks every endpoint of the openai SDK of the
 * lockfile against it.
 */
export const OPENAI_ENDPOINTS: TableEntry[] = [
  [
    'POST /v1/chat/completions',
    model('chat.completions', { ...tokens, operation: 'chat', streamUsageOption: true }),
  ],
  [
    'POST /v1/completions',
    model('completions', { ...tokens, operation: 'text_completion', streamUsageOption: true }),
  ],
  ['POST /v1/embeddings', model('embeddings', { ...tokens, operation: 'embeddings' })],
  ['POST /v1/responses', model('responses', { ...tokens, operation: 'chat', background: true })],
  // compaction runs the model over the conversation and is billed like a response
  ['POST /v1/responses/compact', model('responses.compact', { ...tokens, operation: 'chat' })],
  ['POST /v1/moderations', model('moderations', tokens)],
  [
    'POST /v1/images/generations',
    model('images.generations', { usage: 'images', estimate: 'images', operation: 'image_generation' }),
  ],
  [
    'POST /v1/images/edits',
    model('images.edits', {
      usage: 'images',
      estimate: 'images',
      operation: 'image_generation',
      body: 'form',
    }),
  ],
  [
    'POST /v1/images/variations',
    model('images.variations', {
      usage: 'images',
      estimate: 'images',
      operation: 'image_generation',
      body: 'form',
    }),
  ],
  [
    'POST /v1/audio/speech',
    model('audio.speech', { usage: 'speech', estimate: 'speech', operation: 'speech' }),
  ],
  [
    'POST /v1/audio/transcriptions',
    model('audio.transcriptions', {
      usage: 'transcription',
      estimate: 'audio-input',
      operation: 'transcription',
      body: 'form',
    }),
  ],
  [
    'POST /v1/audio/translations',
    model('audio.translations', {
      usage: 'translation',
      estimate: 'audio-input',
      operation: 'transcription',
      body: 'form',
    }),
  ],
  // the requests are in the uploaded input file, which the sidecar reads to estimate them
  ['POST /v1/batches', model('batches', { usage: 'none', estimate: 'openai-batch', batch: true })],
  // free: counting, cancelling, storing and updating what is already paid for
  ['POST /v1/responses/input_tokens', free('responses.input_tokens')],
  ['POST /v1/responses/{id}/cancel', free('responses.cancel')],
  ['POST /v1/chat/completions/{id}', free('chat.completions.update')],
  ['POST /v1/batches/{id}/cancel', free('batches.cancel')],
  // reads that carry the final usage of a governed batch or background Response (deferred/)
  ['GET /v1/batches/{id}', { ...free('batches.retrieve'), report: 'final-object' }],
  ['GET /v1/responses/{id}', { ...free('responses.retrieve'), report: 'final-object' }],
  ['POST /v1/files', free('files.create')],
  ['POST /v1/uploads', free('uploads.create')],
  ['POST /v1/uploads/{id}/parts', free('uploads.parts')],
  ['POST /v1/uploads/{id}/complete', free('uploads.complete')],
  ['POST /v1/uploads/{id}/cancel', free('uploads.cancel')],
  ['POST /v1/conversations', free('conversations.create')],
  ['POST /v1/conversations/{id}', free('conversations.update')],
  ['POST /v1/conversations/{id}/items', free('conversations.items.create')],
  ['POST /v1/fine_tuning/jobs/{id}/cancel', free('fine_tuning.jobs.cancel')],
  ['POST /v1/fine_tuning/jobs/{id}/pause', free('fine_tuning.jobs.pause')],
]
