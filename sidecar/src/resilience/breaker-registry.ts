import type { CompiledBreaker } from '@tollgate/api'
import { LRUCache } from 'lru-cache'
import type { Clock } from '../limits/clock.ts'
import { type BreakerState, CircuitBreaker } from './circuit-breaker.ts'

export interface BreakerRegistryOptions {
  clock?: Clock
  /** Most breakers kept; the least recently used is forgotten beyond it. Default 1024. */
  maxBreakers?: number
}

/**
 * BreakerRegistry holds one CircuitBreaker per provider and model, created on first use and
 * reconfigured when the tenant's policy changes. Bounded, because model names come from requests.
 */
export class BreakerRegistry {
  #breakers: LRUCache<
    string,
    { breaker: CircuitBreaker; config: CompiledBreaker; provider: string; model: string }
  >
  #options: BreakerRegistryOptions

  constructor(options: BreakerRegistryOptions = {}) {
    this.#options = options
    this.#breakers = new LRUCache({ max: options.maxBreakers ?? 1024 })
  }

  /** get returns the breaker of a provider and model under the given policy. */
  get(provider: string, model: string, config: CompiledBreaker): CircuitBreaker {
    const key = `${provider}\u0000${model}`
    const held = this.#breakers.get(key)
    if (held) {
      if (held.config !== config) {
        held.breaker.configure(config)
        held.config = config
      }
      return held.breaker
    }
    const breaker = new CircuitBreaker(config, this.#options.clock ? { clock: this.#options.clock } : {})
    this.#breakers.set(key, { breaker, config, provider, model })
    return breaker
  }

  /** snapshot lists every breaker's state now, for the `tollgate_circuit_breaker_state` gauge (read at each scrape). */
  snapshot(): { provider: string; model: string; state: BreakerState }[] {
    return [...this.#breakers.values()].map(({ breaker, provider, model }) => ({
      provider,
      model,
      state: breaker.state(),
    }))
  }
}
