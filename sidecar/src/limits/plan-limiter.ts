import { randomUUID } from 'node:crypto'
import { BudgetCalendar } from '@tollgate/api/budget-calendar.ts'
import type { Clock } from './clock.ts'
import { decide, exhaustedRejection, type ReserveReply } from './decision.ts'
import type { ActualUsage, Charged, Limiter, LimitRequest, Rejection, Reservation } from './limiter.ts'
import { buildPlan, PlanTemplates, type ScriptPlan } from './plan.ts'

/**
 * DEFAULT_LEASE_MS bounds how long a crashed sidecar's concurrency slot stays taken: a slot is
 * leased this long and its lease renewed every third of it while its call is in flight.
 */
export const DEFAULT_LEASE_MS = 10_000

/** Slot is one concurrency slot of a reservation: the set and the member. */
export interface Slot {
  key: string
  id: string
}

/**
 * PlanExecutor runs plans call by call against one store (MemoryLimiter's memory-executor.ts).
 * It shares the plan (what to check) and the decision (what the answer means) with the leases of
 * RedisLimiter (lease-limiter.ts), so both limiters answer alike.
 */
export interface PlanExecutor {
  readonly backend: 'redis' | 'memory'
  reserve(keys: readonly string[], plan: ScriptPlan, now: number): Promise<ReserveReply>
  settle(charged: Charged, deltas: { tokens: number; spend: number }, id: string, now: number): Promise<void>
  /** renew extends the leases of slots still held (never takes back an expired one). */
  renew(slots: readonly Slot[], leaseMs: number, now: number): Promise<void>
  /** release frees slots only (a failed settle's deltas may have been applied: never twice). */
  release(slots: readonly Slot[], now: number): Promise<void>
}

export interface PlanLimiterOptions {
  /**
   * An injected clock (tests of windows and budget rollover); the wall clock when absent.
   */
  clock?: Clock
  /** Lease of a concurrency slot, renewed while its call runs; a crashed sidecar's slots free after it. Default 10 s. */
  leaseMs?: number
  calendar?: BudgetCalendar
  newId?: () => string
}

/** MAX_UNRELEASED bounds the slots kept for a later release while their store is away. */
const MAX_UNRELEASED = 10_000

const slotsOf = (r: Reservation): Slot[] => r.charged.inflight.map((key) => ({ key, id: r.id }))

/**
 * PlanLimiter is the Limiter over a PlanExecutor, the one of MemoryLimiter. It keeps the
 * concurrency slots of its calls in flight leased: every tick (a third of a lease, at most a
 * second) it renews them all in one call, and frees again the slots whose settle could not reach
 * the store, so that a Redis blip leaves no slot taken once Redis is back.
 */
export class PlanLimiter implements Limiter {
  #executor: PlanExecutor
  #clock: Clock
  #overrideNow: boolean
  #leaseMs: number
  #calendar: BudgetCalendar
  #newId: () => string
  #templates = new PlanTemplates()
  #settled = new WeakSet<Reservation>()
  /** Reservations in flight that hold slots, by id. */
  #leased = new Map<string, Reservation>()
  /** Slots whose settle failed, to free once the store answers again. */
  #unreleased: Slot[] = []
  #timer: NodeJS.Timeout | undefined = undefined
  #ticking = false

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
    const result = decide(plan, reply, request, meta)
    if (result.ok && result.charged.inflight.length > 0) {
      this.#leased.set(result.id, result)
      this.#schedule()
    }
    return result
  }

  async settle(reservation: Reservation, actual: ActualUsage): Promise<void> {
    if (this.#settled.has(reservation)) return
    this.#settled.add(reservation)
    this.#leased.delete(reservation.id)
    const deltas = {
      tokens: Math.round(actual.tokens) - reservation.estimatedTokens,
      spend: Math.round(actual.costNano) - reservation.estimatedCostNano,
    }
    const { charged } = reservation
    const noCounters = deltas.tokens === 0 && deltas.spend === 0
    if (noCounters && charged.inflight.length === 0) return
    try {
      await this.#executor.settle(charged, deltas, reservation.id, this.#clock())
    } catch (error) {
      if (charged.inflight.length > 0 && this.#unreleased.length < MAX_UNRELEASED) {
        this.#unreleased.push(...slotsOf(reservation))
        this.#schedule()
      }
      throw error
    }
  }

  /**
   * #schedule runs #tick every third of a lease, at least once a second, while slots are leased
   * or wait to be freed: a slot whose settle failed is freed within a second of Redis answering.
   */
  #schedule(): void {
    if (this.#timer) return
    this.#timer = setInterval(
      () => void this.#tick(),
      Math.max(50, Math.min(1_000, Math.floor(this.#leaseMs / 3))),
    )
    this.#timer.unref()
  }

  async #tick(): Promise<void> {
    if (this.#ticking) return
    this.#ticking = true
    try {
      const now = this.#clock()
      const retry = this.#unreleased
      if (retry.length > 0) {
        this.#unreleased = []
        await this.#executor.release(retry, now).catch(() => {
          // still away: keep them for the next tick
          this.#unreleased = retry.concat(this.#unreleased).slice(0, MAX_UNRELEASED)
        })
      }
      const held = [...this.#leased.values()].flatMap(slotsOf)
      if (held.length > 0) await this.#executor.renew(held, this.#leaseMs, now).catch(() => {})
    } finally {
      this.#ticking = false
      if (this.#leased.size === 0 && this.#unreleased.length === 0 && this.#timer) {
        clearInterval(this.#timer)
        this.#timer = undefined
      }
    }
  }

  release(reservation: Reservation): Promise<void> {
    return this.settle(reservation, { tokens: 0, costNano: 0 })
  }
}
