// Batch routes: OpenAI files and batches, Anthropic message batches. A batch runs at once, when it
// is created: its create answer says it is queued, and every later read finds it done, with the
// results and usage of its requests as the fake's own routes would have answered them.
import { messageUsage, promptOf } from './anthropic.ts'
import { ProviderError, requireModel } from './errors.ts'
import { type Exchange, type Handler, nowSeconds, optionalCount, sendJson } from './exchange.ts'
import { readForm } from './multipart.ts'
import { chatUsage, promptTokens } from './openai.ts'
import { planCompletion } from './plan.ts'
import { collectText, lastUserText } from './words.ts'

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
  const file = ex.files.get(input)
  if (!file) throw new ProviderError(400, `No such File object: ${input}`, { param: 'input_file_id' })
  const id = `batch_fake${ex.id}`
  const batch = {
    id,
    object: 'batch',
    endpoint,
    input_file_id: input,
    completion_window: window ?? '24h',
    status: 'validating',
    created_at: nowSeconds(),
    request_counts: { total: 0, completed: 0, failed: 0 },
    metadata: ex.body.metadata ?? null,
  }
  const run = runOpenAiBatch(ex, file)
  const output = `file-fakeout${ex.id}`
  ex.files.set(output, Buffer.from(run.lines.map((l) => `${JSON.stringify(l)}\n`).join('')))
  ex.jobs.set(id, {
    ...batch,
    status: 'completed',
    output_file_id: output,
    completed_at: nowSeconds(),
    request_counts: { total: run.lines.length, completed: run.lines.length, failed: 0 },
    usage: run.usage,
  })
  sendJson(ex, 200, batch)
}

/** runOpenAiBatch answers each request of an input file (chat completions, Responses) and sums the usage. */
function runOpenAiBatch(ex: Exchange, file: Buffer) {
  const usage = {
    input_tokens: 0,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: 0,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 0,
  }
  const lines: Record<string, unknown>[] = []
  for (const text of file.toString('utf8').split('\n')) {
    if (text.trim() === '') continue
    const {
      custom_id: customId,
      url,
      body,
    } = JSON.parse(text) as {
      custom_id: string
      url: string
      body: Record<string, unknown>
    }
    const chat = url === '/v1/chat/completions'
    const plan = planCompletion({
      prompt: chat
        ? collectText(body.messages)
        : [...collectText(body.instructions), ...collectText(body.input)],
      seed: chat
        ? lastUserText(body.messages)
        : typeof body.input === 'string'
          ? body.input
          : lastUserText(body.input),
      maxTokens: optionalCount(body.max_completion_tokens ?? body.max_tokens ?? body.max_output_tokens),
      behaviour: ex.behaviour,
    })
    const input = promptTokens(plan)
    usage.input_tokens += input
    usage.input_tokens_details.cached_tokens += plan.cachedTokens
    usage.output_tokens += plan.outputTokens
    usage.output_tokens_details.reasoning_tokens += plan.reasoningTokens
    usage.total_tokens += input + plan.outputTokens
    ex.reportUsage(input, plan.outputTokens, plan.cachedTokens, String(body.model ?? ''))
    const answer = chat
      ? { object: 'chat.completion', model: body.model, usage: chatUsage(plan) }
      : {
          object: 'response',
          model: body.model,
          status: 'completed',
          usage: {
            input_tokens: input,
            output_tokens: plan.outputTokens,
            total_tokens: input + plan.outputTokens,
          },
        }
    lines.push({
      id: `batch_req_fake${ex.id}_${lines.length}`,
      custom_id: customId,
      response: { status_code: 200, request_id: `req_fake${ex.id}_${lines.length}`, body: answer },
      error: null,
    })
  }
  return { lines, usage }
}

/** retrieveJob answers GET /v1/batches/{id} and GET /v1/responses/{id} with the job as it ended. */
export const retrieveJob =
  (id: string, what: string): Handler =>
  async (ex) => {
    const job = ex.jobs.get(id)
    if (!job) throw new ProviderError(404, `No ${what} found with id '${id}'.`)
    sendJson(ex, 200, job)
  }

/** createMessageBatch answers POST /v1/messages/batches with a batch in progress. */
export const createMessageBatch: Handler = async (ex) => {
  const { requests } = ex.body
  if (!Array.isArray(requests) || requests.length === 0)
    throw new ProviderError(400, 'requests: Field required')
  const lines: unknown[] = []
  for (const r of requests as { custom_id?: unknown; params?: Record<string, unknown> }[]) {
    const params = r.params ?? {}
    const model = requireModel(ex.provider, params)
    const plan = planCompletion({
      prompt: promptOf(params),
      seed: lastUserText(params.messages),
      maxTokens: optionalCount(params.max_tokens),
      behaviour: ex.behaviour,
    })
    ex.reportUsage(plan.inputTokens, plan.outputTokens, 0, model)
    const message = {
      id: `msg_fake${ex.id}_${lines.length}`,
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'text', text: plan.text }],
      stop_reason: plan.truncated ? 'max_tokens' : 'end_turn',
      stop_sequence: null,
      usage: messageUsage(plan, plan.outputTokens),
    }
    lines.push({ custom_id: r.custom_id, result: { type: 'succeeded', message } })
  }
  const id = `msgbatch_fake${ex.id}`
  const at = new Date().toISOString()
  const batch = {
    id,
    type: 'message_batch',
    processing_status: 'in_progress',
    request_counts: { processing: requests.length, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
    created_at: at,
    expires_at: at,
    ended_at: null,
    archived_at: null,
    cancel_initiated_at: null,
    results_url: null,
  }
  const host = String(ex.req.headers.host ?? 'localhost')
  ex.jobs.set(id, {
    ...batch,
    processing_status: 'ended',
    request_counts: { processing: 0, succeeded: lines.length, errored: 0, canceled: 0, expired: 0 },
    ended_at: at,
    results_url: `http://${host}/v1/messages/batches/${id}/results`,
    results: lines.map((l) => `${JSON.stringify(l)}\n`).join(''),
  })
  sendJson(ex, 200, batch)
}

/** retrieveMessageBatch answers GET /v1/messages/batches/{id} with the batch as it ended. */
export const retrieveMessageBatch =
  (id: string): Handler =>
  async (ex) => {
    const job = ex.jobs.get(id)
    if (!job) throw new ProviderError(404, `No message batch found with id '${id}'.`)
    const { results: _, ...batch } = job
    sendJson(ex, 200, batch)
  }

/** listMessageBatches answers GET /v1/messages/batches with every message batch, newest first. */
export const listMessageBatches: Handler = async (ex) => {
  const data = [...ex.jobs.values()]
    .filter((job) => job.type === 'message_batch')
    .map(({ results: _, ...batch }) => batch)
    .reverse()
  sendJson(ex, 200, {
    data,
    has_more: false,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
  })
}

/** messageBatchResults answers GET /v1/messages/batches/{id}/results: one JSON line per request. */
export const messageBatchResults =
  (id: string): Handler =>
  async (ex) => {
    const results = ex.jobs.get(id)?.results
    if (typeof results !== 'string') throw new ProviderError(404, `No message batch found with id '${id}'.`)
    const bytes = Buffer.from(results)
    ex.res.writeHead(200, { 'content-type': 'application/binary', 'content-length': bytes.length })
    ex.res.end(bytes)
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
