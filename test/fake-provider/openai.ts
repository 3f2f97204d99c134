// OpenAI routes: chat completions, legacy completions, embeddings, responses, models.
import { ProviderError, requireModel } from './errors.ts'
import { type Exchange, type Handler, nowSeconds, optionalCount, sendJson } from './exchange.ts'
import { type CompletionPlan, planCompletion } from './plan.ts'
import { EventStream, SSE_DONE, sseData, sseEvent } from './sse.ts'
import { collectText, embeddingVector, estimateTokens, lastUserText } from './words.ts'

/** OPENAI_MODELS are the ids `GET /v1/models` lists. Every route accepts any other model id too. */
export const OPENAI_MODELS = [
  'gpt-5',
  'gpt-5-mini',
  'gpt-4.1',
  'gpt-4.1-mini',
  'gpt-4o',
  'gpt-4o-mini',
  'o3',
  'o4-mini',
  'gpt-3.5-turbo-instruct',
  'text-embedding-3-small',
  'text-embedding-3-large',
]

const MODEL_CREATED = 1_700_000_000

/** promptTokens is what OpenAI counts as the prompt: the estimate, cache reads and cache writes. */
export const promptTokens = (plan: CompletionPlan) =>
  plan.inputTokens + plan.cachedTokens + plan.cacheCreationTokens

/**
 * usage is chat/completions usage: cache reads, cache writes and audio tokens are part of
 * prompt_tokens, reasoning part of completion_tokens.
 */
export const chatUsage = (plan: CompletionPlan) => ({
  prompt_tokens: promptTokens(plan) + plan.audioInputTokens,
  completion_tokens: plan.outputTokens,
  total_tokens: promptTokens(plan) + plan.audioInputTokens + plan.outputTokens,
  prompt_tokens_details: {
    cached_tokens: plan.cachedTokens,
    cache_write_tokens: plan.cacheCreationTokens,
    audio_tokens: plan.audioInputTokens,
  },
  completion_tokens_details: {
    reasoning_tokens: plan.reasoningTokens,
    audio_tokens: plan.audioOutputTokens,
    accepted_prediction_tokens: 0,
    rejected_prediction_tokens: 0,
  },
})

/** reportPlan tallies the usage OpenAI answers report: prompt tokens include cache reads and writes. */
const reportPlan = (ex: Exchange, plan: CompletionPlan) =>
  ex.reportUsage(promptTokens(plan), plan.outputTokens, plan.cachedTokens)

/** streamUsage sends the event that carries a stream's usage, and tallies it once it went out. */
const streamUsage = async (ex: Exchange, stream: EventStream, plan: CompletionPlan, frame: string) => {
  await stream.event(frame)
  reportPlan(ex, plan)
}

const includesUsage = (body: Record<string, unknown>) =>
  (body.stream_options as { include_usage?: unknown } | null | undefined)?.include_usage === true

/** chatCompletions answers POST /v1/chat/completions. */
export const chatCompletions: Handler = async (ex) => {
  const model = requireModel(ex.provider, ex.body)
  const { messages } = ex.body
  if (!Array.isArray(messages)) {
    throw new ProviderError(400, "Missing required parameter: 'messages'.", { param: 'messages' })
  }
  const plan = planCompletion({
    prompt: collectText(messages),
    seed: lastUserText(messages),
    maxTokens: optionalCount(ex.body.max_completion_tokens ?? ex.body.max_tokens),
    behaviour: ex.behaviour,
  })
  const finishReason = plan.truncated ? 'length' : 'stop'
  const head = {
    id: `chatcmpl-fake${ex.id}`,
    created: nowSeconds(),
    model,
    service_tier: 'default',
    system_fingerprint: 'fp_fake',
  }
  if (ex.body.stream !== true) {
    const message = { role: 'assistant', content: plan.text, refusal: null, annotations: [] }
    reportPlan(ex, plan)
    return sendJson(ex, 200, {
      ...head,
      object: 'chat.completion',
      choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
      usage: chatUsage(plan),
    })
  }
  // With include_usage every chunk carries `usage: null` and one extra chunk with `choices: []` and
  // the usage comes last, exactly as OpenAI frames it.
  const withUsage = includesUsage(ex.body)
  const chunk = (choices: unknown[], chunkUsage: unknown = null) =>
    sseData({
      ...head,
      object: 'chat.completion.chunk',
      choices,
      ...(withUsage ? { usage: chunkUsage } : {}),
    })
  const choice = (delta: unknown, finish: string | null = null) => [
    { index: 0, delta, logprobs: null, finish_reason: finish },
  ]
  const stream = new EventStream(ex)
  await stream.event(chunk(choice({ role: 'assistant', content: '', refusal: null })))
  for (const piece of plan.pieces) await stream.word(chunk(choice({ content: piece })))
  await stream.wordsDone()
  await stream.event(chunk(choice({}, finishReason)))
  if (withUsage) await streamUsage(ex, stream, plan, chunk([], chatUsage(plan)))
  await stream.event(SSE_DONE)
  stream.end()
}

/** completions answers POST /v1/completions (legacy text completions). */
export const completions: Handler = async (ex) => {
  const model = requireModel(ex.provider, ex.body)
  const prompt = collectText(ex.body.prompt)
  const plan = planCompletion({
    prompt,
    seed: prompt.join('\n'),
    maxTokens: optionalCount(ex.body.max_tokens),
    behaviour: ex.behaviour,
  })
  const finishReason = plan.truncated ? 'length' : 'stop'
  const head = { id: `cmpl-fake${ex.id}`, object: 'text_completion', created: nowSeconds(), model }
  const choice = (text: string, finish: string | null) => ({
    text,
    index: 0,
    logprobs: null,
    finish_reason: finish,
  })
  if (ex.body.stream !== true) {
    reportPlan(ex, plan)
    return sendJson(ex, 200, { ...head, choices: [choice(plan.text, finishReason)], usage: chatUsage(plan) })
  }
  const withUsage = includesUsage(ex.body)
  const chunk = (choices: unknown[], chunkUsage: unknown = null) =>
    sseData({ ...head, choices, ...(withUsage ? { usage: chunkUsage } : {}) })
  const stream = new EventStream(ex)
  for (const piece of plan.pieces) await stream.word(chunk([choice(piece, null)]))
  await stream.wordsDone()
  await stream.event(chunk([choice('', finishReason)]))
  if (withUsage) await streamUsage(ex, stream, plan, chunk([], chatUsage(plan)))
  await stream.event(SSE_DONE)
  stream.end()
}

const isTokens = (item: unknown): item is number[] =>
  Array.isArray(item) && item.length > 0 && item.every((token) => typeof token === 'number')

/** embeddingInputs normalises `input`: a string, strings, one token array or token arrays. */
const embeddingInputs = (input: unknown): (string | number[])[] => {
  const items = typeof input === 'string' || isTokens(input) ? [input] : input
  if (
    !Array.isArray(items) ||
    items.length === 0 ||
    !items.every((i) => typeof i === 'string' || isTokens(i))
  ) {
    throw new ProviderError(400, "'$.input' is invalid. Please check the API reference.", { param: 'input' })
  }
  return items
}

/**
 * embeddings answers POST /v1/embeddings: one deterministic unit vector per input (1536 floats, 3072
 * for models named `*large*`, or `dimensions`), as floats or base64 little-endian float32 as asked.
 */
export const embeddings: Handler = async (ex) => {
  const model = requireModel(ex.provider, ex.body)
  const inputs = embeddingInputs(ex.body.input)
  const dimensions = optionalCount(ex.body.dimensions) || (model.includes('large') ? 3072 : 1536)
  const base64 = ex.body.encoding_format === 'base64'
  const data = inputs.map((input, index) => {
    const vector = embeddingVector(typeof input === 'string' ? input : input.join(','), dimensions)
    const embedding = base64 ? Buffer.from(vector.buffer).toString('base64') : Array.from(vector)
    return { object: 'embedding', index, embedding }
  })
  const tokens = inputs.reduce(
    (sum, input) => sum + (typeof input === 'string' ? estimateTokens([input]) : input.length),
    0,
  )
  ex.reportUsage(tokens, 0)
  sendJson(ex, 200, { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } })
}

/** responses answers POST /v1/responses, streamed as the Responses API's typed events. */
export const responses: Handler = async (ex) => {
  const model = requireModel(ex.provider, ex.body)
  const { input, instructions } = ex.body
  const plan = planCompletion({
    prompt: [...collectText(instructions), ...collectText(input)],
    seed: typeof input === 'string' ? input : lastUserText(input),
    maxTokens: optionalCount(ex.body.max_output_tokens),
    behaviour: ex.behaviour,
  })
  const createdAt = nowSeconds()
  const response = (status: string, output: unknown[], responseUsage: unknown) => ({
    id: `resp_fake${ex.id}`,
    object: 'response',
    created_at: createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: instructions ?? null,
    max_output_tokens: ex.body.max_output_tokens ?? null,
    model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: true,
    temperature: 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    truncation: 'disabled',
    usage: responseUsage,
    user: null,
    // the API echoes the request's metadata, after the usage
    metadata: ex.body.metadata ?? {},
  })
  const final = plan.truncated ? 'incomplete' : 'completed'
  const itemId = `msg_fake${ex.id}`
  const part = { type: 'output_text', annotations: [], logprobs: [], text: plan.text }
  const item = (status: string, content: unknown[]) => ({
    id: itemId,
    type: 'message',
    status,
    content,
    role: 'assistant',
  })
  const done = response(final, [item(final, [part])], {
    input_tokens: promptTokens(plan),
    input_tokens_details: { cached_tokens: plan.cachedTokens, cache_write_tokens: plan.cacheCreationTokens },
    output_tokens: plan.outputTokens,
    output_tokens_details: { reasoning_tokens: plan.reasoningTokens },
    total_tokens: promptTokens(plan) + plan.outputTokens,
  })
  // A background response is queued: its usage is known only once it ran.
  // The fake runs it at once: a later GET /v1/responses/{id} finds it done, with its usage.
  if (ex.body.background === true) {
    ex.jobs.set(`resp_fake${ex.id}`, { ...(done as Record<string, unknown>), background: true })
    reportPlan(ex, plan)
    return sendJson(ex, 200, { ...response('queued', [], null), background: true })
  }
  if (ex.body.stream !== true) {
    reportPlan(ex, plan)
    return sendJson(ex, 200, done)
  }

  await streamResponse(ex, {
    plan,
    started: response('in_progress', [], null),
    done,
    final,
    item,
    part,
    pieces: plan.pieces,
  })
}

interface ResponseEvents {
  plan: CompletionPlan
  started: unknown
  done: unknown
  final: string
  item: (status: string, content: unknown[]) => unknown
  part: { text: string }
  pieces: string[]
}

const streamResponse = async (
  ex: Exchange,
  { plan, started, done, final, item, part, pieces }: ResponseEvents,
) => {
  let sequence = 0
  const event = (type: string, fields: Record<string, unknown>) =>
    sseEvent(type, { type, sequence_number: sequence++, ...fields })
  const at = { item_id: `msg_fake${ex.id}`, output_index: 0, content_index: 0 }
  const stream = new EventStream(ex)
  await stream.event(event('response.created', { response: started }))
  await stream.event(event('response.in_progress', { response: started }))
  await stream.event(event('response.output_item.added', { output_index: 0, item: item('in_progress', []) }))
  await stream.event(event('response.content_part.added', { ...at, part: { ...part, text: '' } }))
  for (const delta of pieces)
    await stream.word(event('response.output_text.delta', { ...at, delta, logprobs: [] }))
  await stream.wordsDone()
  await stream.event(event('response.output_text.done', { ...at, text: part.text, logprobs: [] }))
  await stream.event(event('response.content_part.done', { ...at, part }))
  await stream.event(event('response.output_item.done', { output_index: 0, item: item(final, [part]) }))
  await streamUsage(ex, stream, plan, event(`response.${final}`, { response: done }))
  stream.end()
}

const modelObject = (id: string) => ({ id, object: 'model', created: MODEL_CREATED, owned_by: 'system' })

/** listModels answers GET /v1/models. */
export const listModels: Handler = async (ex) =>
  sendJson(ex, 200, { object: 'list', data: OPENAI_MODELS.map(modelObject) })

/** retrieveModel answers GET /v1/models/{id}; ids outside OPENAI_MODELS are 404 model_not_found. */
export const retrieveModel =
  (id: string): Handler =>
  async (ex) => {
    if (!OPENAI_MODELS.includes(id)) {
      throw new ProviderError(404, `The model '${id}' does not exist or you do not have access to it.`, {
        code: 'model_not_found',
      })
    }
    sendJson(ex, 200, modelObject(id))
  }
