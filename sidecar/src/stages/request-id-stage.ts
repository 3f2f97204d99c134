import { randomUUID } from 'node:crypto'
import type { Stage } from '../stage.ts'

const VALID = /^[\w.:/+=-]{1,128}$/

/** requestIdStage passes on the app's `x-request-id` (when sane) or assigns one, and echoes it. */
export const requestIdStage = (): Stage => (next) =>
  async function requestIdStage(ctx) {
    const given = ctx.req.headers['x-request-id']
    ctx.requestId = typeof given === 'string' && VALID.test(given) ? given : randomUUID()
    ctx.res.setHeader('x-request-id', ctx.requestId)
    await next(ctx)
  }
