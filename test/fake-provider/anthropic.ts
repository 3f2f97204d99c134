// Anthropic routes: messages (plain and streamed), count_tokens, models.
import { ProviderError, requireModel } from './errors.ts'
import { type Handler, optionalCount, sendJson } from './exchange.ts'
import { type CompletionPlan, planCompletion } from './plan.ts'
import { EventStream, sseEvent } from './sse.ts'
import { collectText, estimateTokens, lastUserText } from './words.ts'

/** ANTHROPIC_MODELS are the models `GET /v1/models` lists to Anthropic clients, newest first. */
export const ANTHROPIC_MODELS = [
  { id: 'claude-opus-4-6', display_name: 'Claude Opus 4.6', created_at: '2026-02-01T00:00:00Z' },
  { id: 'claude-sonnet-4-6', display_name: 'Claude Sonnet 4.6', created_at: '2026-02-01T00:00:00Z' },
  { id: 'claude-haiku-4-5-20251001', display_name: 'Claude Haiku 4.5', created_at: '2025-10-01T00:00:00Z' },
]

/** usage is Anthropic usage: input_tokens excludes cache reads and writes, which are reported apart. */
export const messageUsage = (plan: CompletionPlan, outputTokens: number) => ({
  input_tokens: plan.inputTokens,
  cache_creation_input_tokens: plan.cacheCreationTokens + plan.cacheCreation1hTokens,
  cache_read_input_tokens: plan.cachedTokens,
  cache_creation: {
    ephemeral_5m_input_tokens: plan.cacheCreationTokens,
    ephemeral_1h_input_tokens: plan.cacheCreation1hTokens,
  },
  output_tokens: outputTokens,
  ...thinking(plan),
  server_tool_use: { web_search_requests: plan.webSearchRequests, web_fetch_requests: 0 },
  inference_geo: plan.inferenceGeo,
  service_tier: 'standard',
})

const thinking = (plan: CompletionPlan) =>
  plan.reasoningTokens > 0 ? { output_tokens_details: { thinking_tokens: plan.reasoningTokens } } : {}

export const promptOf = (body: Record<string, unknown>) => {
  if (!Array.isArray(body.messages)) throw new ProviderError(400, 'messages: Field required')
  return [...collectText(body.system), ...collectText(body.messages)]
}

/** messages answers POST /v1/messages, streamed as message_start … message_stop. */
export const messages: Handler = async (ex) => {
  const model = requireModel(ex.provider, ex.body)
  const prompt = promptOf(ex.body)
  const maxTokens = optionalCount(ex.body.max_tokens)
  if (maxTokens === undefined) throw new ProviderError(400, 'max_tokens: Field required')
  const plan = planCompletion({
    prompt,
    seed: lastUserText(ex.body.messages),
    maxTokens,
    behaviour: ex.behaviour,
  })
  const stopReason = plan.truncated ? 'max_tokens' : 'end_turn'
  const message = (content: unknown[], stop: string | null, messageUsage: unknown) => ({
    id: `msg_fake${ex.id}`,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: stop,
    stop_sequence: null,
    usage: messageUsage,
  })
  if (ex.body.stream !== true) {
    ex.reportUsage(plan.inputTokens, plan.outputTokens)
    return sendJson(
      ex,
      200,
      message([{ type: 'text', text: plan.text }], stopReason, messageUsage(plan, plan.outputTokens)),
    )
  }
  const event = (type: string, fields: Record<string, unknown> = {}) => sseEvent(type, { type, ...fields })
  const stream = new EventStream(ex)
  // message_start carries a token or so of output like the real API; message_delta carries the
  // cumulative totals, which a reader must take instead of adding the two.
  await stream.event(
    event('message_start', {
      message: message([], null, messageUsage(plan, Math.min(1, plan.outputTokens))),
    }),
  )
  await stream.event(event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }))
  await stream.event(event('ping'))
  for (const text of plan.pieces) {
    await stream.word(event('content_block_delta', { index: 0, delta: { type: 'text_delta', text } }))
  }
  await stream.wordsDone()
  await stream.event(event('content_block_stop', { index: 0 }))
  await stream.event(
    event('message_delta', {
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: {
        input_tokens: plan.inputTokens,
        cache_creation_input_tokens: plan.cacheCreationTokens + plan.cacheCreation1hTokens,
        cache_read_input_tokens: plan.cachedTokens,
        output_tokens: plan.outputTokens,
        ...thinking(plan),
      },
    }),
  )
  // The cumulative usage went out: that is what a client counts.
  ex.reportUsage(plan.inputTokens, plan.outputTokens)
  await stream.event(event('message_stop'))
  stream.end()
}

/** countTokens answers POST /v1/messages/count_tokens with the same estimate messages reports. */
export const countTokens: Handler = async (ex) => {
  requireModel(ex.provider, ex.body)
  sendJson(ex, 200, { input_tokens: estimateTokens(promptOf(ex.body)) })
}

const modelObject = (model: (typeof ANTHROPIC_MODELS)[number]) => ({ type: 'model', ...model })

/** listModels answers GET /v1/models for Anthropic clients (those sending `anthropic-version`). */
export const listModels: Handler = async (ex) =>
  sendJson(ex, 200, {
    data: ANTHROPIC_MODELS.map(modelObject),
    has_more: false,
    first_id: ANTHROPIC_MODELS[0]?.id ?? null,
    last_id: ANTHROPIC_MODELS.at(-1)?.id ?? null,
  })

/** retrieveModel answers GET /v1/models/{id} for Anthropic clients. */
export const retrieveModel =
  (id: string): Handler =>
  async (ex) => {
    const model = ANTHROPIC_MODELS.find((m) => m.id === id)
    if (!model) throw new ProviderError(404, `model: ${id}`)
    sendJson(ex, 200, modelObject(model))
  }
