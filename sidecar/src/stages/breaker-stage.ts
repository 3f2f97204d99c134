import { TollgateError } from '../errors.ts'
import type { BreakerRegistry } from '../resilience/breaker-registry.ts'
import type { Stage } from '../stage.ts'
import { attemptOutcome } from './attempt-outcome.ts'

/**
 * breakerStage keeps calls away from a provider and model that keeps failing: while its breaker
 * is open (or its half-open probes are taken) the call is answered 503 at once with
 * `retry-after`; otherwise it goes on and its outcome is recorded. It sits inside the retry stage,
 * so every attempt counts and retries stop as soon as the breaker opens.
 */
export const breakerStage =
  (breakers: BreakerRegistry): Stage =>
  (next) =>
    async function breakerStage(ctx) {
      const { config, provider, model } = ctx
      if (!config || !provider || !ctx.endpoint || model === undefined) return next(ctx)
      const decision = breakers.get(provider.name, model, config.compiled.circuitBreaker).acquire()
      if (!decision.allowed) {
        const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000))
        throw new TollgateError(
          'TOLLGATE_ERR_CIRCUIT_OPEN',
          `the circuit breaker of provider ${provider.name} for model ${model} is ${decision.state} after repeated failures; retry after ${seconds}s`,
          { headers: { 'retry-after': String(seconds) } },
        )
      }
      try {
        await next(ctx)
      } finally {
        decision.permit.record(attemptOutcome(ctx))
      }
    }
