import { TollgateError } from '../errors.ts'
import type { Stage } from '../stage.ts'

/** Lifecycle is shared between the process (signals) and the chain. */
export interface Lifecycle {
  draining: boolean
}

/** drainStage turns new calls away with 503 once SIGTERM has started the drain. */
export const drainStage =
  (lifecycle: Lifecycle): Stage =>
  (next) =>
    async function drainStage(ctx) {
      if (lifecycle.draining) {
        throw new TollgateError('TOLLGATE_ERR_SHUTTING_DOWN', 'the sidecar is shutting down', {
          headers: { 'retry-after': '1', connection: 'close' },
        })
      }
      await next(ctx)
    }
