import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Behaviour } from './behaviour.ts'

/** Provider names the API a request speaks; it decides the error shape and the auth header. */
export type Provider = 'openai' | 'anthropic'

/** Exchange is one request as the route handlers see it. */
export interface Exchange {
  /** id is the fake's request id, also sent as `x-fake-request-id`. */
  readonly id: string
  readonly provider: Provider
  readonly req: IncomingMessage
  readonly res: ServerResponse
  /** body is the parsed JSON object of a POST, `{}` for a GET or a form. */
  readonly body: Record<string, unknown>
  /** raw is the request body as received (form routes parse it). */
  readonly raw: Buffer
  /** files are the uploads of this fake (POST /v1/files), by id, for GET /v1/files/{id}/content. */
  readonly files: Map<string, Buffer>
  /** jobs are the batches and background Responses of this fake, by id, as their reads answer them once done. */
  readonly jobs: Map<string, Record<string, unknown>>
  readonly behaviour: Behaviour
  /** signal aborts when the client goes away or the fake cuts the connection. */
  readonly signal: AbortSignal
  /** cut destroys the socket mid-response, the way a dying upstream does. */
  cut(): void
  /**
   * reportUsage adds the usage an answer reports to its key's tally (GET /_fake/usage); input
   * includes cached. model defaults to the request body's (a batch names one per request).
   */
  reportUsage(inputTokens: number, outputTokens: number, cachedInputTokens?: number, model?: string): void
}

/** Handler answers one route. */
export type Handler = (ex: Exchange) => Promise<void>

/** sendJson answers a complete JSON response. */
export const sendJson = (
  ex: Exchange,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) => {
  const json = JSON.stringify(body)
  ex.res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json),
    ...headers,
  })
  ex.res.end(json)
}

/** untilAborted resolves once signal aborts. */
export const untilAborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) resolve()
    else signal.addEventListener('abort', () => resolve(), { once: true })
  })

/** nowSeconds is the Unix time in seconds, as the APIs' `created` fields carry it. */
export const nowSeconds = () => Math.floor(Date.now() / 1000)

/** optionalCount reads a non-negative integer request field, or undefined. */
export const optionalCount = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined
