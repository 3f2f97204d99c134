import type { Logger } from 'pino'
import type { RequestContext } from '../context.ts'
import { asTollgateError, type TollgateError } from '../errors.ts'
import type { Stage } from '../stage.ts'
import { errorBody, shapeFor, streamErrorEvent } from './error-shape.ts'

/**
 * replyStage is the one place where errors become HTTP responses, in the provider's own error
 * shape with a stable `TOLLGATE_ERR_*` code, and where a reply held in memory (an upstream error
 * body, later a cache hit) is sent. A stream that breaks after its head went out is ended with an
 * error event the SDKs raise; any other broken body is cut off so the client cannot take it for
 * complete.
 */
export const replyStage =
  (log: Logger): Stage =>
  (next) =>
    async function replyStage(ctx) {
      try {
        await next(ctx)
      } catch (cause) {
        ctx.error = asTollgateError(cause)
        // a client that went away breaks reads and writes; that is not a fault of the sidecar
        if (ctx.error.code === 'TOLLGATE_ERR_INTERNAL' && !ctx.aborted)
          log.error({ err: cause, requestId: ctx.requestId }, 'internal error')
      }
      const { res } = ctx
      if (ctx.aborted) {
        if (!res.destroyed) res.destroy()
        return
      }
      if (ctx.error) {
        if (!res.headersSent) sendError(ctx, ctx.error)
        else breakStream(ctx, ctx.error)
        return
      }
      const reply = ctx.reply
      if (reply && !res.headersSent) {
        ctx.status = reply.status
        res.writeHead(
          reply.status,
          ctx.extraHeaders ? { ...reply.headers, ...ctx.extraHeaders } : reply.headers,
        )
        res.end(reply.body)
      }
    }

function sendError(ctx: RequestContext, error: TollgateError): void {
  const shape = shapeFor(ctx.provider?.type, ctx.req.headers)
  const body = errorBody(shape, error, ctx.requestId)
  ctx.status = error.status
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-tollgate-error-code': error.code,
    'x-request-id': ctx.requestId,
    ...ctx.extraHeaders,
    ...error.headers,
  }
  ctx.res.writeHead(error.status, headers)
  ctx.res.end(body)
}

function breakStream(ctx: RequestContext, error: TollgateError): void {
  const { res } = ctx
  if (ctx.eventStream && !res.writableEnded) {
    res.end(streamErrorEvent(shapeFor(ctx.provider?.type, ctx.req.headers), error, ctx.requestId))
    return
  }
  res.destroy(error)
}
