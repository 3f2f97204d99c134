import type { IncomingMessage } from 'node:http'
import type { BodyBudget } from '../body/body-budget.ts'
import type { RequestContext } from '../context.ts'
import { TollgateError } from '../errors.ts'
import { JsonFieldReader, type JsonLimits } from '../json/json-field-reader.ts'
import type { Stage } from '../stage.ts'

const INCLUDE_USAGE = Buffer.from('"stream_options":{"include_usage":true},')

/**
 * JSON_LIMITS bound what a request body may hold before it is parsed. A parsed object costs
 * about 56 bytes of heap and a value about 10; 32 MiB of `{},` was 700 MiB of heap. 64 levels are
 * more than any API's schemas nest, and keep every walk over the body (estimate, cache key)
 * far from the stack's end; 250,000 containers and 2,000,000 values hold a 100,000-request
 * batch or 300,000 embedding token ids (OpenAI's cap per request) in under 40 MB of heap.
 */
export const JSON_LIMITS: JsonLimits = { maxDepth: 64, maxContainers: 250_000, maxValues: 2_000_000 }

const tooLarge = (limit: number) =>
  new TollgateError(
    'TOLLGATE_ERR_BODY_TOO_LARGE',
    `request body is larger than the limit of ${limit} bytes`,
    {
      headers: { connection: 'close' },
    },
  )

const overloaded = (budget: BodyBudget) =>
  new TollgateError(
    'TOLLGATE_ERR_OVERLOADED',
    `the sidecar holds ${budget.used} bytes of request bodies in flight, its bound is ${budget.limit} (--max-inflight-body-bytes)`,
    { headers: { 'retry-after': '1', connection: 'close' } },
  )

const tooComplex = (exceeded: NonNullable<JsonFieldReader['exceeded']>) =>
  new TollgateError(
    'TOLLGATE_ERR_JSON_TOO_COMPLEX',
    exceeded === 'depth'
      ? `request body is nested too deep: more than ${JSON_LIMITS.maxDepth} levels`
      : exceeded === 'containers'
        ? `request body holds more than ${JSON_LIMITS.maxContainers} objects and arrays`
        : `request body holds more than ${JSON_LIMITS.maxValues} values`,
    { headers: { connection: 'close' } },
  )

/**
 * bodyStage reads the request body within the size limit (413) and the sidecar's bound on bodies
 * in flight (503 with retry-after; the bytes count until the call is over, as the body is kept for
 * retries), checks JSON bodies against JSON_LIMITS while they are read (400), parses them (400 when
 * malformed) or reads the fields of a model call's multipart form, takes `stream` from them, and
 * for OpenAI chat/completions streams asks for `stream_options.include_usage` so the stream
 * reports usage; it remembers when the client did not ask, so the extra chunk is cut out later.
 */
export const bodyStage =
  (maxBytes: number, budget: BodyBudget): Stage =>
  (next) =>
    async function bodyStage(ctx) {
      const { req } = ctx
      const declared = req.headers['content-length']
      if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes)
      if (declared === undefined ? req.headers['transfer-encoding'] === undefined : declared === '0') {
        await next(ctx)
        return
      }
      const held = { bytes: 0 }
      try {
        const type = req.headers['content-type']
        const endpoint = ctx.endpoint
        const json =
          (endpoint?.kind === 'model' && endpoint.body === 'json') || type?.includes('json') === true
        const body = await readBody(req, maxBytes, budget, held, Number(declared ?? 0), json)
        ctx.body = body
        if (body.length > 0 && json) parseJson(ctx, body)
        else if (endpoint?.kind === 'model' && endpoint.body === 'form') {
          try {
            // busboy loads with the first form, not at start (most sidecars never see one)
            const { readFormFields } = await import('../body/form-fields.ts')
            ctx.form = await readFormFields(type ?? '', body)
          } catch (cause) {
            throw new TollgateError(
              'TOLLGATE_ERR_INVALID_FORM',
              `request body is not a readable form: ${(cause as Error).message}`,
              { cause },
            )
          }
          ctx.stream = ctx.form.fields.stream === 'true'
        }
        await next(ctx)
      } finally {
        budget.give(held.bytes)
      }
    }

function parseJson(ctx: RequestContext, body: Buffer): void {
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
    if (ctx.endpoint?.kind === 'model')
      throw new TollgateError('TOLLGATE_ERR_INVALID_JSON', 'request body must be a JSON object')
    return
  }
  const object = json as Record<string, unknown>
  ctx.json = object
  ctx.stream = object.stream === true
  if (ctx.stream && ctx.endpoint?.streamUsageOption) askForStreamUsage(ctx, object, body)
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

/**
 * readBody collects the body, failing fast once it passes the size limit, the bodies-in-flight
 * bound (counted in `held`, given back by the caller) or, for JSON, JSON_LIMITS.
 */
function readBody(
  req: IncomingMessage,
  limit: number,
  budget: BodyBudget,
  held: { bytes: number },
  declared: number,
  json: boolean,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // a declared length is reserved whole at once: a call that cannot fit is refused before it sends
    if (declared > 0) {
      if (!budget.take(declared)) {
        reject(overloaded(budget))
        return
      }
      held.bytes = declared
    }
    const limits = json ? new JsonFieldReader([], 0, JSON_LIMITS) : undefined
    const chunks: Buffer[] = []
    let size = 0
    let failed = false
    const fail = (error: TollgateError) => {
      failed = true
      req.off('data', onData)
      req.pause()
      reject(error)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) return fail(tooLarge(limit))
      if (size > held.bytes) {
        if (!budget.take(size - held.bytes)) return fail(overloaded(budget))
        held.bytes = size
      }
      if (limits) {
        limits.write(chunk)
        if (limits.exceeded) return fail(tooComplex(limits.exceeded))
      }
      chunks.push(chunk)
    }
    req.on('data', onData)
    req.once('end', () => {
      if (failed) return
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size))
    })
    req.once('error', (cause) => reject(new Error('read request body', { cause })))
    // a client that goes away mid-body may close without an error; never leave the call hanging
    req.once('close', () => {
      if (!req.complete) reject(new Error('read request body: the client closed the connection'))
    })
  })
}
