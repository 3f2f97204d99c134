import type { RequestContext } from './context.ts'

/** Handler serves one request; it resolves when the response is complete (or abandoned). */
export type Handler = (ctx: RequestContext) => Promise<void>

/**
 * Stage wraps the next handler, like an undici interceptor: it may answer by itself (throw a
 * TollgateError, set `ctx.reply`) or call `next`, and it finishes its own work when `next` returns.
 */
export type Stage = (next: Handler) => Handler

/** compose builds one handler from stages, outermost first, around the innermost handler. */
export const compose = (stages: readonly Stage[], handler: Handler): Handler =>
  stages.reduceRight<Handler>((next, stage) => stage(next), handler)
