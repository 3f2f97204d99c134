// Batch routes: OpenAI files and batches, Anthropic message batches. Nothing runs: a batch stays queued.
import { ProviderError, requireModel } from './errors.ts'
import { type Handler, nowSeconds, sendJson } from './exchange.ts'
import { readForm } from './multipart.ts'

/** uploadFile answers POST /v1/files (multipart: purpose, file) and keeps the file for its content route. */
export const uploadFile: Handler = async (ex) => {
  const form = await readForm(String(ex.req.headers['content-type']), ex.raw)
  const file = form.files.find((f) => f.field === 'file')
  if (!file) throw new ProviderError(400, "Missing required parameter: 'file'.", { param: 'file' })
  ex.files.set(`file-fake${ex.id}`, file.bytes)
  sendJson(ex, 200, {
    id: `file-fake${ex.id}`,
    object: 'file',
    bytes: file.bytes.length,
    created_at: nowSeconds(),
    filename: file.filename,
    purpose: form.fields.purpose ?? 'batch',
    status: 'processed',
  })
}

/** createBatch answers POST /v1/batches with a batch that is validating. */
export const createBatch: Handler = async (ex) => {
  const { input_file_id: input, endpoint, completion_window: window } = ex.body
  if (typeof input !== 'string') throw new ProviderError(400, "Missing required parameter: 'input_file_id'.")
  sendJson(ex, 200, {
    id: `batch_fake${ex.id}`,
    object: 'batch',
    endpoint,
    input_file_id: input,
    completion_window: window ?? '24h',
    status: 'validating',
    created_at: nowSeconds(),
    request_counts: { total: 0, completed: 0, failed: 0 },
    metadata: ex.body.metadata ?? null,
  })
}

/** createMessageBatch answers POST /v1/messages/batches with a batch in progress. */
export const createMessageBatch: Handler = async (ex) => {
  const { requests } = ex.body
  if (!Array.isArray(requests) || requests.length === 0)
    throw new ProviderError(400, 'requests: Field required')
  for (const r of requests)
    requireModel(ex.provider, ((r as { params?: unknown }).params ?? {}) as Record<string, unknown>)
  const at = new Date().toISOString()
  sendJson(ex, 200, {
    id: `msgbatch_fake${ex.id}`,
    type: 'message_batch',
    processing_status: 'in_progress',
    request_counts: { processing: requests.length, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
    created_at: at,
    expires_at: at,
    ended_at: null,
    archived_at: null,
    cancel_initiated_at: null,
    results_url: null,
  })
}

/** fileContent answers GET /v1/files/{id}/content with an uploaded file's bytes. */
export const fileContent =
  (id: string): Handler =>
  async (ex) => {
    const bytes = ex.files.get(id)
    if (!bytes) throw new ProviderError(404, `No such File object: ${id}`)
    ex.res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length })
    ex.res.end(bytes)
  }
