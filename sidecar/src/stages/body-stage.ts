import type { IncomingMessage } from 'node:http'
import { TollgateError } from '../errors.ts'
import type { Stage } from '../stage.ts'

const INCLUDE_USAGE = Buffer.from('"stream_options":{"include_usage":true},')

const tooLarge = (limit: number) =>
  new TollgateError(
    'TOLLGATE_ERR_BODY_TOO_LARGE',
    `request body is larger than the limit of ${limit} bytes`,
    {
      headers: { connection: 'close' },
    },
  )

/**
 * bodyStage reads the request body (up to the limit: 413 past it), parses JSON bodies (400 when
 * malformed), takes `model` and `stream` from them, and for OpenAI chat/completions streams asks
 * for `stream_options.include_usage` so the stream reports usage; it remembers when the client did
 * not ask, so the extra usage chunk can be cut out on the way back.
 */
export const bodyStage =
  (maxBytes: number): Stage =>
  (next) =>
    async function bodyStage(ctx) {
      const { req } = ctx
      const declared = req.headers['content-length']
      if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes)
      if (declared === undefined ? req.headers['transfer-encoding'] === undefined : declared === '0') {
        await next(ctx)
        return
      }
      const body = await readBody(req, maxBytes)
      ctx.body = body
      const type = req.headers['content-type']
      if (body.length > 0 && (ctx.endpoint !== undefined || type?.includes('json') === true)) {
        let json: unknown
        try {
          json = JSON.parse(body.toString('utf8'))
        } catch (cause) {
          throw new TollgateError(
            'TOLLGATE_ERR_INVALID_JSON',
            `request body is not valid JSON: ${(cause as Error).message}`,
            {
              cause,
            },
          )
        }
        if (json === null || typeof json !== 'object' || Array.isArray(json)) {
          if (ctx.endpoint)
            throw new TollgateError('TOLLGATE_ERR_INVALID_JSON', 'request body must be a JSON object')
        } else {
          const object = json as Record<string, unknown>
          ctx.json = object
          if (typeof object.model === 'string' && object.model !== '') ctx.model = object.model
          ctx.stream = object.stream === true
          if (ctx.stream && ctx.endpoint?.streamUsageOption) askForStreamUsage(ctx, object, body)
        }
      }
      await next(ctx)
    }

/**
 * askForStreamUsage sets `stream_options.include_usage`. Without `stream_options` in the body the
 * field is spliced in after the opening brace (no re-serialisation of a possibly large prompt);
 * otherwise the parsed body is changed and serialised again.
 */
function askForStreamUsage(
  ctx: { body: Buffer | undefined; stripUsageChunk: boolean },
  object: Record<string, unknown>,
  body: Buffer,
): void {
  const options = object.stream_options
  if (
    options !== null &&
    typeof options === 'object' &&
    (options as { include_usage?: unknown }).include_usage === true
  )
    return
  ctx.stripUsageChunk = true
  if (options === undefined) {
    const open = body.indexOf(0x7b)
    ctx.body = Buffer.concat([body.subarray(0, open + 1), INCLUDE_USAGE, body.subarray(open + 1)])
    return
  }
  object.stream_options = { ...(typeof options === 'object' ? options : {}), include_usage: true }
  ctx.body = Buffer.from(JSON.stringify(object))
}

/** readBody collects the body, failing fast once it passes the limit. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        req.off('data', onData)
        req.pause()
        reject(tooLarge(limit))
        return
      }
      chunks.push(chunk)
    }
    req.on('data', onData)
    req.once('end', () => {
      if (size > limit) return
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size))
    })
    req.once('error', (cause) => reject(new Error('read request body', { cause })))
    // a client that goes away mid-body may close without an error; never leave the call hanging
    req.once('close', () => {
      if (!req.complete) reject(new Error('read request body: the client closed the connection'))
    })
  })
}
