import type { FormFields } from '../body/form-fields.ts'
import type { Endpoint } from '../endpoints/endpoint.ts'
import { emptyUsage, type Usage } from '../usage/usage.ts'
import { BYTES_PER_TOKEN, estimateTokens } from './estimate.ts'

/**
 * Output tokens gpt-image models bill per image, by quality and size, as OpenAI documents them
 * for gpt-image-1; `auto` quality or size is charged its dearest value.
 */
export const IMAGE_OUTPUT_TOKENS: Record<string, Record<string, number>> = {
  low: { '1024x1024': 272, '1024x1536': 408, '1536x1024': 400 },
  medium: { '1024x1024': 1056, '1024x1536': 1584, '1536x1024': 1568 },
  high: { '1024x1024': 4160, '1024x1536': 6240, '1536x1024': 6208 },
}
/** Each partial image of a streamed generation bills 100 more image output tokens. */
export const PARTIAL_IMAGE_TOKENS = 100
/** Image input tokens charged per input image of an edit: the most a high-fidelity input bills. */
export const INPUT_IMAGE_TOKENS = 6_240
/**
 * Audio is assumed to run at no fewer than 2,000 bytes a second (16 kbit/s, below any speech
 * codec at usable quality), so the seconds of a file are at most its bytes / 2,000. The answer's
 * usage replaces the estimate; only a transcription answered as text, srt or vtt (no usage) settles
 * at it, and a file of lower bitrate is then under-counted.
 */
export const AUDIO_BYTES_PER_SECOND = 2_000
/** gpt-4o transcription bills about 17 audio tokens a second ($0.006 a minute at $6 per million). */
export const AUDIO_TOKENS_PER_SECOND = 20
/** Speech runs at about 3 words (some 15 characters) a second; transcripts at about 5 tokens a second. */
export const TRANSCRIPT_TOKENS_PER_SECOND = 5
/**
 * gpt-4o-mini-tts bills about 1,250 audio tokens a minute of speech, some 1.4 per character at
 * speed 1; 2 per character (divided by `speed`) is charged. A speech answer carries no usage unless
 * streamed as SSE, so the call settles at this.
 */
export const SPEECH_AUDIO_TOKENS_PER_CHARACTER = 2

/** CallEstimate is what a call may use, known before it is sent. */
export interface CallEstimate {
  /** Tokens charged to the token limits: input plus the most output the call allows. */
  tokens: number
  /** What the call is counted at when it ends without a usage report (aborted, cut, none given). */
  usage: Usage
  /** The output part is the request's own bound (max_tokens...) rather than a default. */
  outputBounded: boolean
  /** Billed at the batch price. */
  batch: boolean
}

type Json = Record<string, unknown>
const str = (v: unknown) => (typeof v === 'string' ? v : undefined)
const count = (v: unknown) => {
  const n = typeof v === 'string' ? Number(v) : v
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined
}
const textTokens = (...texts: (string | undefined)[]) =>
  Math.ceil(texts.reduce((sum, t) => sum + (t ? Buffer.byteLength(t, 'utf8') : 0), 0) / BYTES_PER_TOKEN)

const tokensEstimate = (usage: Usage, outputBounded: boolean, batch = false): CallEstimate => ({
  tokens: usage.inputTokens + usage.outputTokens,
  usage,
  outputBounded,
  batch,
})

/** fromTokens is the usage of a token estimate: the prompt as input, the most output as output. */
function fromTokens(dialect: 'openai' | 'anthropic', path: string, body: unknown) {
  const e = estimateTokens(dialect, path, body)
  return {
    usage: { ...emptyUsage(), inputTokens: e.promptTokens, outputTokens: e.maxOutputTokens },
    bounded: e.outputBounded,
  }
}

/** estimateFor is the estimate of the context's model call, computed once. */
export function estimateFor(ctx: {
  estimated: CallEstimate | undefined
  endpoint: Endpoint | undefined
  model: string | undefined
  path: string
  json: Json | undefined
  form: FormFields | undefined
}): CallEstimate {
  ctx.estimated ??= ctx.endpoint
    ? estimateCall(ctx.endpoint, ctx.model ?? '', ctx.path, ctx.json, ctx.form)
    : tokensEstimate(emptyUsage(), true)
  return ctx.estimated
}

/**
 * estimateCall estimates a model call from its endpoint and request: tokens for chat, completions,
 * embeddings, Responses and messages (estimate.ts), and for images, speech and audio input the
 * units they bill, with the tokens of the token-priced models of the same endpoint. Whether a
 * row bills per image or per token is the price's to say: the estimate carries both.
 */
export function estimateCall(
  endpoint: Endpoint,
  model: string,
  path: string,
  json: Json | undefined,
  form: FormFields | undefined,
): CallEstimate {
  const body = json ?? {}
  switch (endpoint.estimate) {
    case 'openai-tokens':
    case 'anthropic-tokens': {
      const { usage, bounded } = fromTokens(
        endpoint.estimate === 'anthropic-tokens' ? 'anthropic' : 'openai',
        path,
        body,
      )
      return tokensEstimate(usage, bounded)
    }
    case 'images':
      return estimateImages(model, endpoint, form ? form.fields : body, form)
    case 'speech':
      return estimateSpeech(body)
    case 'audio-input':
      return estimateAudioInput(form)
    case 'anthropic-batch':
      return estimateAnthropicBatch(body)
    default:
      return tokensEstimate(emptyUsage(), true)
  }
}

function estimateImages(
  model: string,
  endpoint: Endpoint,
  fields: Json,
  form: FormFields | undefined,
): CallEstimate {
  const n = Math.max(1, count(fields.n) ?? 1)
  const dallE3 = model.startsWith('dall-e-3')
  const size = str(fields.size) ?? (model.startsWith('dall-e') ? '1024x1024' : 'auto')
  const quality = str(fields.quality) ?? (dallE3 ? 'standard' : 'auto')
  const level = quality === 'low' || quality === 'medium' ? quality : 'high'
  const sizes = IMAGE_OUTPUT_TOKENS[level] as Record<string, number>
  const perImage = sizes[size] ?? Math.max(...Object.values(sizes))
  const partials = count(fields.partial_images) ?? 0
  const inputImages =
    endpoint.name === 'images.variations'
      ? 1
      : (form?.files.filter((f) => f.field.startsWith('image')).length ?? 0)
  const usage = emptyUsage()
  usage.images = n
  usage.imageKind = dallE3 ? `${quality}:${size}` : size
  usage.imageInputTokens = inputImages * INPUT_IMAGE_TOKENS
  usage.inputTokens = textTokens(str(fields.prompt)) + usage.imageInputTokens
  usage.imageOutputTokens = n * (perImage + partials * PARTIAL_IMAGE_TOKENS)
  usage.outputTokens = usage.imageOutputTokens
  return tokensEstimate(usage, true)
}

function estimateSpeech(body: Json): CallEstimate {
  const input = str(body.input) ?? ''
  const speed = typeof body.speed === 'number' && body.speed > 0 ? body.speed : 1
  const usage = emptyUsage()
  usage.characters = [...input].length
  usage.inputTokens = textTokens(input, str(body.instructions))
  usage.audioOutputTokens = Math.ceil(
    (usage.characters * SPEECH_AUDIO_TOKENS_PER_CHARACTER) / Math.max(speed, 0.25),
  )
  usage.outputTokens = usage.audioOutputTokens
  return tokensEstimate(usage, true)
}

function estimateAudioInput(form: FormFields | undefined): CallEstimate {
  const bytes = form?.files.filter((f) => f.field === 'file').reduce((sum, f) => sum + f.bytes, 0) ?? 0
  const seconds = Math.max(1, Math.ceil(bytes / AUDIO_BYTES_PER_SECOND))
  const usage = emptyUsage()
  usage.seconds = seconds
  usage.audioInputTokens = seconds * AUDIO_TOKENS_PER_SECOND
  usage.inputTokens = usage.audioInputTokens + textTokens(form?.fields.prompt)
  usage.outputTokens = seconds * TRANSCRIPT_TOKENS_PER_SECOND
  return tokensEstimate(usage, true)
}

/** estimateAnthropicBatch sums the estimates of a message batch's requests (one model: requestModel checks). */
function estimateAnthropicBatch(body: Json): CallEstimate {
  const requests = Array.isArray(body.requests) ? body.requests : []
  const usage = emptyUsage()
  let bounded = true
  for (const r of requests) {
    const params = (r as { params?: unknown } | null)?.params
    const e = fromTokens('anthropic', '/v1/messages', params)
    usage.inputTokens += e.usage.inputTokens
    usage.outputTokens += e.usage.outputTokens
    bounded &&= e.bounded
  }
  return tokensEstimate(usage, bounded, true)
}
