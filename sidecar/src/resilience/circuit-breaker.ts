import type { CompiledBreaker } from '@tollgate/api'
import type { Clock } from '../limits/clock.ts'
import type { OutcomeKind } from './outcome.ts'

/** BreakerState is exported as a metric: closed 0, half-open 1, open 2 (see BREAKER_STATE_VALUE). */
export type BreakerState = 'closed' | 'open' | 'half-open'

export const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 }

/** BreakerPermit lets one call through; record its outcome exactly once (later calls are ignored). */
export interface BreakerPermit {
  /** True when the call is a half-open probe. */
  readonly probe: boolean
  record(outcome: OutcomeKind): void
}

export type BreakerDecision =
  | { allowed: true; permit: BreakerPermit }
  | { allowed: false; state: 'open' | 'half-open'; retryAfterMs: number }

export interface CircuitBreakerOptions {
  clock?: Clock
  onStateChange?: (from: BreakerState, to: BreakerState) => void
}

/** While half-open probes are all taken, callers are told to come back after this long at most. */
const PROBE_BUSY_RETRY_MS = 1_000

/**
 * CircuitBreaker for one provider and model. Closed: everything passes; `consecutiveFailures`
 * outcomes of the kinds in `on`, in a row, open it (any other outcome resets the count). Open:
 * calls are refused for `openForMs`. Then half-open: at most `halfOpenProbes` calls at once are
 * let through; a probe's success closes the breaker, a probe's failure opens it again, an
 * aborted probe frees its place. Transitions happen lazily on use, so there are no timers.
 * Outcomes of permits granted in an earlier state (a slow call that started while closed and
 * ends after the breaker opened) are ignored: only the current state's calls decide.
 */
export class CircuitBreaker {
  #config: CompiledBreaker
  #clock: Clock
  #onStateChange: CircuitBreakerOptions['onStateChange']
  #state: BreakerState = 'closed'
  #failures = 0
  #openedAt = 0
  #probes = 0
  /** Bumped on every transition; a permit of an older epoch has no say. */
  #epoch = 0

  constructor(config: CompiledBreaker, options: CircuitBreakerOptions = {}) {
    this.#config = config
    this.#clock = options.clock ?? Date.now
    this.#onStateChange = options.onStateChange
  }

  /** configure applies a new policy and keeps the state. */
  configure(config: CompiledBreaker): void {
    this.#config = config
  }

  /** state is the current state, open turning half-open once openFor has passed. */
  state(): BreakerState {
    this.#refresh(this.#clock())
    return this.#state
  }

  /** acquire asks to send one call. */
  acquire(): BreakerDecision {
    const now = this.#clock()
    this.#refresh(now)
    if (this.#state === 'open') {
      return { allowed: false, state: 'open', retryAfterMs: this.#openedAt + this.#config.openForMs - now }
    }
    if (this.#state === 'half-open') {
      if (this.#probes >= this.#config.halfOpenProbes) {
        return {
          allowed: false,
          state: 'half-open',
          retryAfterMs: Math.min(this.#config.openForMs, PROBE_BUSY_RETRY_MS),
        }
      }
      this.#probes++
      return { allowed: true, permit: this.#permit(true) }
    }
    return { allowed: true, permit: this.#permit(false) }
  }

  #permit(probe: boolean): BreakerPermit {
    const epoch = this.#epoch
    let recorded = false
    return {
      probe,
      record: (outcome) => {
        if (recorded) return
        recorded = true
        if (epoch === this.#epoch) this.#record(probe, outcome)
      },
    }
  }

  #record(probe: boolean, outcome: OutcomeKind) {
    if (probe) this.#probes--
    if (outcome === 'aborted') return
    const failed = outcome !== 'success' && this.#config.on.includes(outcome)
    if (probe) {
      if (failed) this.#open()
      else this.#transition('closed')
      return
    }
    if (!failed) {
      this.#failures = 0
      return
    }
    this.#failures++
    if (this.#failures >= this.#config.consecutiveFailures) this.#open()
  }

  #refresh(now: number) {
    if (this.#state === 'open' && now >= this.#openedAt + this.#config.openForMs)
      this.#transition('half-open')
  }

  #open() {
    this.#openedAt = this.#clock()
    this.#transition('open')
  }

  #transition(to: BreakerState) {
    const from = this.#state
    this.#state = to
    this.#epoch++
    this.#failures = 0
    this.#probes = 0
    if (from !== to) this.#onStateChange?.(from, to)
  }
}
