// OpenAI image and audio routes: image generations and edits, speech, transcriptions, translations.
import { ProviderError, requireModel } from './errors.ts'
import { type Exchange, type Handler, nowSeconds, optionalCount, sendJson } from './exchange.ts'
import { readForm } from './multipart.ts'
import { completionText, estimateTokens } from './words.ts'

/**
 * IMAGE_OUTPUT_TOKENS are the output tokens gpt-image models report per image, by quality and size,
 * as OpenAI documents them for gpt-image-1.
 */
export const IMAGE_OUTPUT_TOKENS: Record<string, Record<string, number>> = {
  low: { '1024x1024': 272, '1024x1536': 408, '1536x1024': 400 },
  medium: { '1024x1024': 1056, '1024x1536': 1584, '1536x1024': 1568 },
  high: { '1024x1024': 4160, '1024x1536': 6240, '1536x1024': 6208 },
}
/** Image tokens the fake reports for each input image of an edit. */
export const IMAGE_INPUT_TOKENS = 323
/** The fake's audio runs at 16,000 bytes a second (a 128 kbit/s MP3). */
export const AUDIO_BYTES_PER_SECOND = 16_000
/** Audio tokens per second of input audio the gpt-4o transcription models report here. */
export const AUDIO_TOKENS_PER_SECOND = 10

const PIXEL =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAfbLI3wAAAABJRU5ErkJggg=='

const gptImage = (model: string) => model.startsWith('gpt-image') || model.startsWith('chatgpt-image')

const imageCount = (value: unknown) => optionalCount(typeof value === 'string' ? Number(value) : value) ?? 1

/** imagesAnswer is an ImagesResponse: data, and token usage for the gpt-image models only. */
const imagesAnswer = (
  model: string,
  n: number,
  prompt: string,
  size: string,
  quality: string,
  inputImages: number,
) => {
  const data = Array.from({ length: n }, () =>
    gptImage(model) ? { b64_json: PIXEL } : { url: `https://fake.invalid/${model}.png` },
  )
  if (!gptImage(model)) return { created: nowSeconds(), data }
  const level = quality === 'low' || quality === 'medium' ? quality : 'high'
  const perImage = IMAGE_OUTPUT_TOKENS[level]?.[size] ?? IMAGE_OUTPUT_TOKENS[level]?.['1024x1024'] ?? 0
  const text = estimateTokens([prompt])
  const image = inputImages * IMAGE_INPUT_TOKENS
  const output = perImage * n
  return {
    created: nowSeconds(),
    data,
    usage: {
      input_tokens: text + image,
      input_tokens_details: { text_tokens: text, image_tokens: image },
      output_tokens: output,
      total_tokens: text + image + output,
    },
  }
}

/** imageGenerations answers POST /v1/images/generations. */
export const imageGenerations: Handler = async (ex) => {
  const model = typeof ex.body.model === 'string' && ex.body.model ? ex.body.model : 'dall-e-2'
  const prompt = typeof ex.body.prompt === 'string' ? ex.body.prompt : ''
  if (!prompt) throw new ProviderError(400, "Missing required parameter: 'prompt'.", { param: 'prompt' })
  const size = typeof ex.body.size === 'string' ? ex.body.size : '1024x1024'
  const quality = typeof ex.body.quality === 'string' ? ex.body.quality : 'auto'
  sendJson(ex, 200, imagesAnswer(model, imageCount(ex.body.n), prompt, size, quality, 0))
}

/** imageEdits answers POST /v1/images/edits (multipart: image[] files, prompt, model). */
export const imageEdits: Handler = async (ex) => {
  const form = await readForm(String(ex.req.headers['content-type']), ex.raw)
  const model = form.fields.model || 'dall-e-2'
  const images = form.files.filter((f) => f.field === 'image' || f.field === 'image[]').length
  if (images === 0) throw new ProviderError(400, "Missing required parameter: 'image'.", { param: 'image' })
  const size = form.fields.size ?? '1024x1024'
  sendJson(
    ex,
    200,
    imagesAnswer(
      model,
      imageCount(form.fields.n),
      form.fields.prompt ?? '',
      size,
      form.fields.quality ?? 'auto',
      images,
    ),
  )
}

/** speech answers POST /v1/audio/speech with audio bytes (about a second per 15 characters). */
export const speech: Handler = async (ex) => {
  requireModel(ex.provider, ex.body)
  const input = typeof ex.body.input === 'string' ? ex.body.input : ''
  if (!input) throw new ProviderError(400, "Missing required parameter: 'input'.", { param: 'input' })
  const seconds = Math.max(1, Math.ceil(input.length / 15))
  const audio = Buffer.alloc(seconds * AUDIO_BYTES_PER_SECOND)
  audio.write('ID3')
  ex.res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': audio.length })
  ex.res.end(audio)
}

const audioSeconds = (bytes: number) => Math.max(1, Math.ceil(bytes / AUDIO_BYTES_PER_SECOND))

/** readAudioForm reads the upload of a transcription or translation and its model. */
const readAudioForm = async (ex: Exchange) => {
  const form = await readForm(String(ex.req.headers['content-type']), ex.raw)
  const model = requireModel(ex.provider, form.fields)
  const file = form.files.find((f) => f.field === 'file')
  if (!file) throw new ProviderError(400, "Missing required parameter: 'file'.", { param: 'file' })
  return { form, model, seconds: audioSeconds(file.bytes.length), text: completionText(file.filename) }
}

/**
 * transcriptions answers POST /v1/audio/transcriptions: whisper-1 reports the duration it bills,
 * the gpt-4o transcription models report tokens.
 */
export const transcriptions: Handler = async (ex) => {
  const { model, seconds, text } = await readAudioForm(ex)
  const words = text.split(' ').length
  const audio = seconds * AUDIO_TOKENS_PER_SECOND
  const usage =
    model === 'whisper-1'
      ? { type: 'duration', seconds }
      : {
          type: 'tokens',
          input_tokens: audio,
          input_token_details: { text_tokens: 0, audio_tokens: audio },
          output_tokens: words,
          total_tokens: audio + words,
        }
  sendJson(ex, 200, { text, usage })
}

/** translations answers POST /v1/audio/translations: `json` has the text only, `verbose_json` the duration too. */
export const translations: Handler = async (ex) => {
  const { form, seconds, text } = await readAudioForm(ex)
  if (form.fields.response_format === 'verbose_json')
    return sendJson(ex, 200, {
      task: 'translate',
      language: 'english',
      duration: seconds,
      text,
      segments: [],
    })
  sendJson(ex, 200, { text })
}
