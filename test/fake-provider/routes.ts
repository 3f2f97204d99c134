import type { IncomingHttpHeaders } from 'node:http'
import * as anthropic from './anthropic.ts'
import * as batches from './batches.ts'
import type { Handler, Provider } from './exchange.ts'
import * as media from './media.ts'
import * as openai from './openai.ts'

/** Route is one endpoint of the fake: the API it speaks and its handler. */
export interface Route {
  provider: Provider
  /** post routes need a JSON object body; form routes read multipart/form-data (`ex.raw`). */
  post: boolean | 'form'
  handle: Handler
}

const ROUTES: Record<string, Route> = {
  'POST /v1/chat/completions': { provider: 'openai', post: true, handle: openai.chatCompletions },
  'POST /v1/completions': { provider: 'openai', post: true, handle: openai.completions },
  'POST /v1/embeddings': { provider: 'openai', post: true, handle: openai.embeddings },
  'POST /v1/responses': { provider: 'openai', post: true, handle: openai.responses },
  'POST /v1/messages': { provider: 'anthropic', post: true, handle: anthropic.messages },
  'POST /v1/messages/count_tokens': { provider: 'anthropic', post: true, handle: anthropic.countTokens },
  'POST /v1/messages/batches': { provider: 'anthropic', post: true, handle: batches.createMessageBatch },
  'POST /v1/images/generations': { provider: 'openai', post: true, handle: media.imageGenerations },
  'POST /v1/images/edits': { provider: 'openai', post: 'form', handle: media.imageEdits },
  'POST /v1/audio/speech': { provider: 'openai', post: true, handle: media.speech },
  'POST /v1/audio/transcriptions': { provider: 'openai', post: 'form', handle: media.transcriptions },
  'POST /v1/audio/translations': { provider: 'openai', post: 'form', handle: media.translations },
  'POST /v1/files': { provider: 'openai', post: 'form', handle: batches.uploadFile },
  'POST /v1/batches': { provider: 'openai', post: true, handle: batches.createBatch },
}

const MODEL_PREFIX = '/v1/models/'

/**
 * providerOf guesses whose API a request meant: Anthropic for its paths or when it carries an
 * Anthropic header (the SDK always sends `anthropic-version`), OpenAI otherwise. It picks the
 * error shape of unknown routes and the API behind the shared `/v1/models` paths.
 */
export const providerOf = (pathname: string, headers: IncomingHttpHeaders): Provider =>
  pathname.startsWith('/v1/messages') ||
  headers['anthropic-version'] !== undefined ||
  headers['x-api-key'] !== undefined
    ? 'anthropic'
    : 'openai'

const decode = (segment: string) => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** findRoute returns the route for a method and path, or undefined for a 404. */
export const findRoute = (
  method: string,
  pathname: string,
  headers: IncomingHttpHeaders,
): Route | undefined => {
  const route = ROUTES[`${method} ${pathname}`]
  if (route || method !== 'GET') return route
  const provider = providerOf(pathname, headers)
  const content = /^\/v1\/files\/([^/]+)\/content$/.exec(pathname)
  if (content?.[1]) return { provider, post: false, handle: batches.fileContent(decode(content[1])) }
  if (pathname === '/v1/messages/batches')
    return { provider: 'anthropic', post: false, handle: batches.listMessageBatches }
  const job = /^\/v1\/(batches|responses|messages\/batches)\/([^/]+)(\/results)?$/.exec(pathname)
  if (job?.[2]) {
    const id = decode(job[2])
    if (job[1] === 'messages/batches')
      return {
        provider: 'anthropic',
        post: false,
        handle: job[3] ? batches.messageBatchResults(id) : batches.retrieveMessageBatch(id),
      }
    if (!job[3])
      return {
        provider,
        post: false,
        handle: batches.retrieveJob(id, job[1] === 'batches' ? 'batch' : 'response'),
      }
  }
  const api = provider === 'anthropic' ? anthropic : openai
  if (pathname === '/v1/models') return { provider, post: false, handle: api.listModels }
  if (pathname.startsWith(MODEL_PREFIX) && pathname.length > MODEL_PREFIX.length) {
    return { provider, post: false, handle: api.retrieveModel(decode(pathname.slice(MODEL_PREFIX.length))) }
  }
  return undefined
}
