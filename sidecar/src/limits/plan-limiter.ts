import { randomUUID } from 'node:crypto'
import { BudgetCalendar } from '@tollgate/api/budget-calendar.ts'
import type { Clock } from './clock.ts'
import { decide, exhaustedRejection, type ReserveReply } from './decision.ts'
import type { ActualUsage, Charged, Limiter, LimitRequest, Rejection, Reservation } from './limiter.ts'
import { buildPlan, PlanTemplates, type ScriptPlan } from './plan.ts'

/** DEFAULT_LEASE_MS bounds how long a crashed sidecar's concurrency slot stays taken. */
export const DEFAULT_LEASE_MS = 15 * 60_000

/**
 * PlanExecutor runs plans against one store; RedisLimiter and MemoryLimiter differ only here,
 * so both share the plan (what to check) and the decision (what the answer means).
 */
export interface PlanExecutor {
  readonly backend: 'redis' | 'memory'
  reserve(keys: readonly string[], plan: ScriptPlan, now: number): Promise<ReserveReply>
  settle(charged: Charged, deltas: { tokens: number; spend: number }, id: string, now: number): Promise<void>
}

export interface PlanLimiterOptions {
  /**
   * An injected clock. RedisLimiter without one takes time from the Redis server; with one it
   * sends the clock's time to the script instead (tests of windows and budget rollover).
   */
  clock?: Clock
  /** Lease of a concurrency slot: a crashed sidecar's slots free after it. Default 15 minutes. */
  leaseMs?: number
  calendar?: BudgetCalendar
  newId?: () => string
}

/** PlanLimiter is the Limiter over a PlanExecutor; see RedisLimiter and MemoryLimiter. */
export class PlanLimiter implements Limiter {
  #executor: PlanExecutor
  #clock: Clock
  #overrideNow: boolean
  #leaseMs: number
  #calendar: BudgetCalendar
  #newId: () => string
  #templates = new PlanTemplates()
  #settled = new WeakSet<Reservation>()

  constructor(executor: PlanExecutor, options: PlanLimiterOptions & { overrideNow: boolean }) {
    this.#executor = executor
    this.#clock = options.clock ?? Date.now
    this.#overrideNow = options.overrideNow
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS
    this.#calendar = options.calendar ?? new BudgetCalendar()
    this.#newId = options.newId ?? randomUUID
  }

  async reserve(request: LimitRequest): Promise<Reservation | Rejection> {
    const now = this.#clock()
    const exhausted = exhaustedRejection(request, now)
    if (exhausted) return exhausted
    const id = this.#newId()
    const plan = buildPlan(request, {
      id,
      now,
      overrideNow: this.#overrideNow,
      leaseMs: this.#leaseMs,
      calendar: this.#calendar,
      templates: this.#templates,
    })
    const meta = { id, backend: this.#executor.backend }
    // Nothing applies (unlimited tier, no budget): admit without a round trip.
    if (plan.checks.length === 0) return decide(plan, { admitted: true, now, slots: [] }, request, meta)
    const reply = await this.#executor.reserve(plan.keys, plan.script, now)
    return decide(plan, reply, request, meta)
  }

  async settle(reservation: Reservation, actual: ActualUsage): Promise<void> {
    if (this.#settled.has(reservation)) return
    this.#settled.add(reservation)
    const deltas = {
      tokens: Math.round(actual.tokens) - reservation.estimatedTokens,
      spend: Math.round(actual.costNano) - reservation.estimatedCostNano,
    }
    const { charged } = reservation
    const noCounters = deltas.tokens === 0 && deltas.spend === 0
    if (noCounters && charged.inflight.length === 0) return
    await this.#executor.settle(charged, deltas, reservation.id, this.#clock())
  }

  release(reservation: Reservation): Promise<void> {
    return this.settle(reservation, { tokens: 0, costNano: 0 })
  }
}
