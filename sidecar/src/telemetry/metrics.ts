import { Counter, collectDefaultMetrics, Gauge, type LabelValues, Registry } from 'prom-client'
import { BREAKER_STATE_VALUE, type BreakerState } from '../resilience/circuit-breaker.ts'
import { CallHistogram } from './call-histogram.ts'

/** Buckets for whole LLM calls and time to first token: 50 ms to 2 minutes. */
export const LLM_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120]

/**
 * LabelLimiter caps the distinct values of a label (model names come from clients): past `max`
 * distinct values every new one is reported as `other`, so a client cannot blow up the series.
 */
export class LabelLimiter {
  readonly #seen = new Set<string>()
  readonly #max: number

  constructor(max = 200) {
    this.#max = max
  }

  value(label: string): string {
    if (this.#seen.has(label)) return label
    if (this.#seen.size >= this.#max) return 'other'
    this.#seen.add(label)
    return label
  }
}

interface Inc {
  inc(value?: number): void
}
interface Observe {
  observe(value: number): void
}

/** CallSeries are the label-bound series of one provider and model, resolved once and reused. */
export interface CallSeries {
  duration: Observe
  ttft: Observe
  input: Inc
  output: Inc
  cachedInput: Inc
  reasoning: Inc
  cost: Inc
  /** requests with this status. */
  status(code: number): Inc
}

/**
 * Count is a counter series of the per-call path: a number added to in place (see Counts). A value
 * prom-client would refuse (not a finite number, or negative) is dropped here, so that one bad
 * value cannot make every later scrape fail.
 */
class Count implements Inc {
  n = 0
  inc(value = 1): void {
    if (Number.isFinite(value) && value >= 0) this.n += value
  }
}

/**
 * Counts are the per-call series of one prom-client Counter as plain numbers, handed to the
 * Counter each time it is read (its `collect`): a call adds to a number instead of building and
 * hashing a label set in prom-client, and a scrape sees every call counted before it.
 */
class Counts<T extends string> {
  readonly #cells: [LabelValues<T>, Count][] = []

  /** count is the series of a label set; bind it once and keep it. */
  count(labels: LabelValues<T>): Count {
    const cell = new Count()
    this.#cells.push([labels, cell])
    return cell
  }

  flush(counter: Counter<T>): void {
    for (const [labels, cell] of this.#cells) {
      if (cell.n === 0) continue
      counter.inc(labels, cell.n)
      cell.n = 0
    }
  }
}

/** BreakerSnapshot is one breaker as the gauge reports it. */
export interface BreakerSnapshot {
  provider: string
  model: string
  state: BreakerState
}

/** SidecarMetrics are the Prometheus series of one sidecar, served on the admin port. */
export class SidecarMetrics {
  readonly registry = new Registry()
  readonly models = new LabelLimiter()
  /** Where the breaker gauge reads its states from when scraped (observeBreakers). */
  #breakers: () => readonly BreakerSnapshot[] = () => []
  readonly requests: Counter<'provider' | 'model' | 'status'>
  readonly duration: CallHistogram
  readonly ttft: CallHistogram
  readonly tokens: Counter<'provider' | 'model' | 'type'>
  readonly cost: Counter<'provider' | 'model'>
  readonly upstreamErrors: Counter<'provider' | 'reason'>
  readonly rejections: Counter<'code'>
  /** Calls in flight, read by the gauge when scraped. */
  inflightCalls = 0
  readonly configVersion: Gauge
  readonly configLoads: Counter<'result'>
  readonly usageWriteErrors: Counter
  readonly cacheLookups: Counter<'result'>
  readonly retries: Counter<'provider' | 'reason'>
  readonly breakerState: Gauge<'provider' | 'model'>
  readonly redisUp: Gauge
  readonly limiterFallbacks: Counter<'mode'>
  readonly shadowExceeded: Counter<'limit'>
  readonly settleErrors: Counter
  readonly deferredCalls: Counter<'outcome'>
  readonly usageEstimated: Counter<'reason'>
  readonly credentialExchanges: Counter<'result'>
  readonly #series = new Map<string, CallSeries>()
  readonly #requestCounts = new Counts<'provider' | 'model' | 'status'>()
  readonly #tokenCounts = new Counts<'provider' | 'model' | 'type'>()
  readonly #costCounts = new Counts<'provider' | 'model'>()
  readonly #cacheResults = new Map<string, Inc>()

  constructor(opts: { tenant?: string; processMetrics?: boolean } = {}) {
    const registers = [this.registry]
    if (opts.tenant) this.registry.setDefaultLabels({ tenant: opts.tenant })
    this.requests = new Counter({
      name: 'tollgate_requests_total',
      help: 'Calls through the sidecar by provider, model and HTTP status.',
      labelNames: ['provider', 'model', 'status'],
      registers,
      collect: () => this.#requestCounts.flush(this.requests),
    })
    this.duration = new CallHistogram({
      name: 'tollgate_request_duration_seconds',
      help: 'Time from request to the last response byte.',
      buckets: LLM_BUCKETS,
      registers,
    })
    this.ttft = new CallHistogram({
      name: 'tollgate_time_to_first_token_seconds',
      help: 'Time from request to the first body chunk of a streamed response.',
      buckets: LLM_BUCKETS,
      registers,
    })
    this.tokens = new Counter({
      name: 'tollgate_tokens_total',
      help: 'Tokens by type: input (cached included), output (reasoning included), cached_input, reasoning.',
      labelNames: ['provider', 'model', 'type'],
      registers,
      collect: () => this.#tokenCounts.flush(this.tokens),
    })
    this.cost = new Counter({
      name: 'tollgate_cost_usd_total',
      help: 'Spend priced with the config price table, in US dollars.',
      labelNames: ['provider', 'model'],
      registers,
      collect: () => this.#costCounts.flush(this.cost),
    })
    this.upstreamErrors = new Counter({
      name: 'tollgate_upstream_errors_total',
      help: 'Provider calls that failed: connect, timeouts, resets, or an HTTP error status (http_429, http_5xx).',
      labelNames: ['provider', 'reason'],
      registers,
    })
    this.rejections = new Counter({
      name: 'tollgate_rejections_total',
      help: 'Calls the sidecar answered itself with an error, by TOLLGATE_ERR_* code.',
      labelNames: ['code'],
      registers,
    })
    const inflight: Gauge = new Gauge({
      name: 'tollgate_inflight_requests',
      help: 'Calls in flight.',
      registers,
      collect: () => inflight.set(this.inflightCalls),
    })
    this.configVersion = new Gauge({
      name: 'tollgate_config_version',
      help: 'Version of the compiled config in force.',
      registers,
    })
    this.configLoads = new Counter({
      name: 'tollgate_config_loads_total',
      help: 'Config load attempts by result (applied, unchanged, missing, invalid, rejected: signature does not verify, error).',
      labelNames: ['result'],
      registers,
    })
    this.usageWriteErrors = new Counter({
      name: 'tollgate_usage_write_errors_total',
      help: 'Failed writes of usage counters to Redis (they are retried).',
      registers,
    })
    this.cacheLookups = new Counter({
      name: 'tollgate_cache_lookups_total',
      help: 'Response cache lookups by result (hit, miss, bypass), as in x-tollgate-cache.',
      labelNames: ['result'],
      registers,
    })
    this.retries = new Counter({
      name: 'tollgate_retries_total',
      help: 'Provider calls tried again, by the outcome that was retried (429, 5xx, connect, timeout).',
      labelNames: ['provider', 'reason'],
      registers,
    })
    const breakerState: Gauge<'provider' | 'model'> = new Gauge({
      name: 'tollgate_circuit_breaker_state',
      help: 'Circuit breaker per provider and model: 0 closed, 1 half-open, 2 open.',
      labelNames: ['provider', 'model'],
      registers,
      // Read when scraped: an open breaker turns half-open with time, not with traffic, and an idle
      // pod must not report "open" forever.
      collect: () => {
        breakerState.reset()
        for (const b of this.#breakers())
          breakerState.set(
            { provider: b.provider, model: this.models.value(b.model) },
            BREAKER_STATE_VALUE[b.state],
          )
      },
    })
    this.breakerState = breakerState
    this.redisUp = new Gauge({
      name: 'tollgate_redis_up',
      help: 'Whether the data-plane Redis connection (limits, cache) is up: 1 or 0.',
      registers,
    })
    this.limiterFallbacks = new Counter({
      name: 'tollgate_limiter_fallbacks_total',
      help: 'Calls decided without Redis, by failureMode: open (local limits) or closed (503).',
      labelNames: ['mode'],
      registers,
    })
    this.shadowExceeded = new Counter({
      name: 'tollgate_shadow_limit_exceeded_total',
      help: 'Calls a shadow limit would have rejected, by limit id; they were served.',
      labelNames: ['limit'],
      registers,
    })
    this.settleErrors = new Counter({
      name: 'tollgate_limiter_settle_errors_total',
      help: 'Reservations that could not be settled (the estimate stays counted until its window ends).',
      registers,
    })
    this.deferredCalls = new Counter({
      name: 'tollgate_deferred_calls_total',
      help: 'Deferred calls (governed batches, background Responses) by outcome: kept (error), settled with their final usage, gone (settled already), unknown (not deferred here)',
      labelNames: ['outcome'],
      registers,
    })
    this.usageEstimated = new Counter({
      name: 'tollgate_usage_estimated_total',
      help: 'Model calls counted at their estimate, not a usage report: aborted (cut before the end), unreported (the answer had none), unreadable (its usage too large to hold).',
      labelNames: ['reason'],
      registers,
    })
    this.credentialExchanges = new Counter({
      name: 'tollgate_credential_exchanges_total',
      help: 'Credential exchanges with the operator by result (ok, failed).',
      labelNames: ['result'],
      registers,
    })
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry })
  }

  /** cacheLookup is the bound counter of one x-tollgate-cache result. */
  cacheLookup(result: 'hit' | 'miss' | 'bypass'): Inc {
    let counter = this.#cacheResults.get(result)
    if (!counter) {
      counter = this.cacheLookups.labels(result)
      this.#cacheResults.set(result, counter)
    }
    return counter
  }

  /**
   * series returns the bound series of a provider and model: plain numbers and bucket cells that a
   * call adds to, read into the Prometheus series when scraped. The model passes the LabelLimiter
   * first, so the map stays small.
   */
  series(provider: string, rawModel: string): CallSeries {
    const model = this.models.value(rawModel)
    const id = `${provider}\u0000${model}`
    let series = this.#series.get(id)
    if (!series) {
      const labels = { provider, model }
      const statuses = new Map<number, Inc>()
      series = {
        duration: this.duration.series(labels),
        ttft: this.ttft.series(labels),
        input: this.#tokenCounts.count({ ...labels, type: 'input' }),
        output: this.#tokenCounts.count({ ...labels, type: 'output' }),
        cachedInput: this.#tokenCounts.count({ ...labels, type: 'cached_input' }),
        reasoning: this.#tokenCounts.count({ ...labels, type: 'reasoning' }),
        cost: this.#costCounts.count(labels),
        status: (code) => {
          let counter = statuses.get(code)
          if (!counter) {
            counter = this.#requestCounts.count({ ...labels, status: code })
            statuses.set(code, counter)
          }
          return counter
        },
      }
      this.#series.set(id, series)
    }
    return series
  }

  /** observeBreakers makes the breaker gauge report these breakers, read at each scrape. */
  observeBreakers(source: () => readonly BreakerSnapshot[]): void {
    this.#breakers = source
  }
}
