import { randomUUID } from 'node:crypto'
import type { Stage } from '../stage.ts'

const VALID = /^[\w.:/+=-]{1,128}$/

/**
 * requestIdStage passes on the app's `x-request-id` (when sane) or assigns one. It goes upstream as
 * `x-request-id` and back to the app as `x-tollgate-request-id` (the id in the sidecar's logs);
 * the provider's own `x-request-id` reaches the app untouched, as its SDK expects.
 */
export const requestIdStage = (): Stage => (next) =>
  function requestIdStage(ctx) {
    const given = ctx.req.headers['x-request-id']
    ctx.requestId = typeof given === 'string' && VALID.test(given) ? given : randomUUID()
    // written with the response head (every writeHead adds ctx.extraHeaders): a header set on
    // the response beforehand sends Node's writeHead down its slow path, header by header
    ctx.addHeaders({ 'x-tollgate-request-id': ctx.requestId })
    return next(ctx)
  }
