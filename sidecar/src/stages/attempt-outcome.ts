import type { RequestContext } from '../context.ts'
import { classifyStatus, type OutcomeKind } from '../resilience/outcome.ts'

/**
 * attemptOutcome classifies how one pass through the upstream handler ended, for the breaker
 * and the retry policy. A connect timeout is `connect` (the request never left); a first-byte or
 * idle timeout is `timeout` (the provider may have started on it); a lost connection is `5xx`
 * (the sidecar answers it as a 502). No answer from the provider at all (the sidecar failed
 * before calling it, or the client left) is `aborted`: it says nothing about the provider.
 */
export function attemptOutcome(ctx: RequestContext): OutcomeKind {
  if (ctx.aborted) return 'aborted'
  switch (ctx.upstreamFailure) {
    case 'connect':
    case 'connect_timeout':
      return 'connect'
    case 'first_byte_timeout':
    case 'idle_timeout':
      return 'timeout'
    case 'reset':
    case 'http_5xx':
      return '5xx'
    case 'http_429':
      return '429'
  }
  if (ctx.reply) return classifyStatus(ctx.reply.status)
  if (ctx.status) return classifyStatus(ctx.status)
  return 'aborted'
}
