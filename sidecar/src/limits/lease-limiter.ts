import { randomUUID } from 'node:crypto'
import { BudgetCalendar } from '@tollgate/api/budget-calendar.ts'
import type { Clock } from './clock.ts'
import { decide, exhaustedRejection, type SlotReading } from './decision.ts'
import { LimiterUnavailableError } from './errors.ts'
import { Lease, leaseCap } from './lease.ts'
import type { LeaseCall, LeaseCheck, LeaseReply } from './lease-script.ts'
import type { ActualUsage, Limiter, LimitRequest, Rejection, Reservation } from './limiter.ts'
import { buildPlan, type Plan, PlanTemplates, type ScriptCheck } from './plan.ts'

/** DEFAULT_LEASE_FRACTION: all sidecars' unused leases on a limit stay within 2% of it. */
export const DEFAULT_LEASE_FRACTION = 0.02
/** DEFAULT_QUOTA_LEASE_MS: a lease is used for at most a second before it is renewed or returned. */
export const DEFAULT_QUOTA_LEASE_MS = 1_000
/** DEFAULT_SLOT_LEASE_MS: a crashed sidecar's concurrency slots free after this long. */
export const DEFAULT_SLOT_LEASE_MS = 10_000
/** DEFAULT_SETTLE_BATCH_MS: settlements of this long go to Redis in one call. */
export const DEFAULT_SETTLE_BATCH_MS = 20

/** LeaseExecutor runs one lease.lua call (RedisLeaseExecutor). */
export interface LeaseExecutor {
  lease(call: LeaseCall): Promise<LeaseReply>
}

export interface LeaseLimiterOptions {
  /** An injected clock, sent to the script as the decision time (tests); else Redis server time. */
  clock?: Clock
  /** Most unused lease all sidecars may hold on a limit, as a fraction of it; 0: per-call reservations. */
  fraction?: number
  /** How long a lease is used before it must be renewed; bounds how late a lowered limit applies. */
  leaseMs?: number
  /** Lease of a concurrency slot in Redis, renewed while its call runs. */
  slotLeaseMs?: number
  settleBatchMs?: number
  calendar?: BudgetCalendar
  newId?: () => string
  /** This sidecar's name in the lease hashes; a fresh one per limiter when absent. */
  holder?: string
}

/** Entry is one check of one tenant as this sidecar last planned it, with its lease. */
interface Entry {
  lease: Lease
  check: ScriptCheck
  candidates: string[]
  leases: string
  slot: boolean
}

/** Charge is what one reservation charged on one check: its lease and the counter. */
interface Charge {
  lease: Lease
  /** The counter charged (windows, periods) or the slots hash. */
  key: string
  unit: 'tokens' | 'spend' | 'slot' | 'request'
}

/** TenantLeases is what the limiter holds for one tenant; its calls to Redis run one at a time. */
interface TenantLeases {
  entries: Map<string, Entry>
  /** Settlements and returns not yet sent: counter key to delta. */
  pending: Map<string, number>
  /** The end of the queue of calls to Redis, and how many are in it. */
  tail: Promise<void>
  queued: number
  flush: Promise<void> | undefined
}

/**
 * LeaseLimiter enforces limits shared by every sidecar of a tenant with leases (docs/limits.md):
 * it admits a call locally when its leases on every applicable limit and budget cover it, and
 * otherwise asks Redis in one lease.lua call, which charges the call, tops the leases up and
 * applies the settlements waiting to go. Near a limit leases shrink to nothing and every call is
 * a per-call reservation (with fraction 0, always). Errors surface as LimiterUnavailableError so
 * the caller applies the policy's failureMode.
 */
export class LeaseLimiter implements Limiter {
  #executor: LeaseExecutor
  #clock: Clock
  #overrideNow: boolean
  #fraction: number
  #leaseMs: number
  #slotLeaseMs: number
  #settleBatchMs: number
  #calendar: BudgetCalendar
  #newId: () => string
  #holder: string
  #templates = new PlanTemplates()
  #tenants = new Map<string, TenantLeases>()
  #settled = new WeakSet<Reservation>()
  /** What each reservation charged on which lease: settle gives back to the lease first. */
  #chargedOn = new WeakMap<Reservation, Charge[]>()
  #timer: NodeJS.Timeout | undefined = undefined
  #closed = false

  constructor(executor: LeaseExecutor, options: LeaseLimiterOptions = {}) {
    this.#executor = executor
    this.#clock = options.clock ?? Date.now
    this.#overrideNow = options.clock !== undefined
    this.#fraction = options.fraction ?? DEFAULT_LEASE_FRACTION
    this.#leaseMs = options.leaseMs ?? DEFAULT_QUOTA_LEASE_MS
    this.#slotLeaseMs = options.slotLeaseMs ?? DEFAULT_SLOT_LEASE_MS
    this.#settleBatchMs = options.settleBatchMs ?? DEFAULT_SETTLE_BATCH_MS
    this.#calendar = options.calendar ?? new BudgetCalendar()
    this.#newId = options.newId ?? randomUUID
    this.#holder = options.holder ?? randomUUID()
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
      leaseMs: this.#slotLeaseMs,
      calendar: this.#calendar,
      templates: this.#templates,
    })
    const meta = { id, backend: 'redis' as const }
    if (plan.checks.length === 0) return decide(plan, { admitted: true, now, slots: [] }, request, meta)
    const state = this.#tenant(request.config.tenant)
    const entries = plan.checks.map((_, i) => this.#entry(state, plan, i))
    this.#schedule()
    const local = this.#admitLocally(entries, plan, request, meta, now)
    if (local) {
      this.#topUpWhenLow(state, entries, now)
      return local
    }
    // In line behind the tenant's calls to Redis, woken once: what they granted may cover it.
    return this.#run(state, () => {
      const again = this.#admitLocally(entries, plan, request, meta, this.#clock())
      return again ? Promise.resolve(again) : this.#reserveRemote(state, entries, plan, request, meta)
    })
  }

  settle(reservation: Reservation, actual: ActualUsage): Promise<void> {
    if (this.#settled.has(reservation)) return Promise.resolve()
    this.#settled.add(reservation)
    const state = this.#tenant(reservation.tenant)
    const deltas = {
      tokens: Math.round(actual.tokens) - reservation.estimatedTokens,
      spend: Math.round(actual.costNano) - reservation.estimatedCostNano,
    }
    const now = this.#clock()
    let flush = false
    for (const c of this.#chargedOn.get(reservation) ?? []) {
      if (c.unit === 'request') continue
      if (c.unit === 'slot') {
        c.lease.inUse = Math.max(0, c.lease.inUse - 1)
        // the freed slot is spare: kept as lease while the lease may hold it, else given back
        if (!c.lease.refund(1, c.key, now)) flush = true
        continue
      }
      const delta = deltas[c.unit]
      if (delta === 0) continue
      // what the call did not use goes back to the lease (as far as its record allows), what it
      // used beyond its estimate comes out of it; the rest is a settlement for the next batch
      const rest =
        delta < 0 ? delta + c.lease.refundUpTo(-delta, c.key, now) : delta - c.lease.cover(delta, c.key, now)
      if (rest !== 0) add(state.pending, c.key, rest)
    }
    if (state.pending.size === 0 && !flush) return Promise.resolve()
    return this.#flushSoon(state)
  }

  release(reservation: Reservation): Promise<void> {
    return this.settle(reservation, { tokens: 0, costNano: 0 })
  }

  /** close returns every unused lease and spare slot and sends what waits; the limiter is done. */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    await Promise.all(
      [...this.#tenants.values()].map((state) =>
        this.#run(state, () => this.#sync(state, [...state.entries.values()])).catch(() => {}),
      ),
    )
  }

  #tenant(tenant: string): TenantLeases {
    let state = this.#tenants.get(tenant)
    if (!state) {
      state = { entries: new Map(), pending: new Map(), tail: Promise.resolve(), queued: 0, flush: undefined }
      this.#tenants.set(tenant, state)
    }
    return state
  }

  /** #entry finds the check's lease and refreshes what the plan says of it (keys, limit). */
  #entry(state: TenantLeases, plan: Plan, i: number): Entry {
    const pc = plan.checks[i] as Plan['checks'][number]
    const check = plan.script.checks[i] as ScriptCheck
    const slot = check.t === 'c'
    // the leases hash names the check: one per limit and metric, one per budget period
    let entry = state.entries.get(pc.leases)
    if (!entry) {
      entry = { lease: new Lease(), check, candidates: [], leases: pc.leases, slot }
      state.entries.set(pc.leases, entry)
    }
    entry.check = check
    entry.candidates = plan.keys.slice(check.k - 1, check.k - 1 + (slot ? 1 : 3))
    entry.leases = pc.leases
    return entry
  }

  /** #usable: the lease may admit `cost` now, under the limit the plan has. */
  #usable(e: Entry, cost: number, now: number): boolean {
    const l = e.lease
    if (l.limit !== e.check.l || now >= l.expiresAt) return false
    if (e.slot) return l.unused >= 1
    return l.unused >= cost && l.from <= now && now < l.to && e.candidates.includes(l.key as string)
  }

  #admitLocally(
    entries: Entry[],
    plan: Plan,
    request: LimitRequest,
    meta: { id: string; backend: 'redis' },
    now: number,
  ): Reservation | undefined {
    for (let i = 0; i < entries.length; i++) {
      if (!this.#usable(entries[i] as Entry, (plan.checks[i] as Plan['checks'][number]).cost, now))
        return undefined
    }
    const slots: SlotReading[] = entries.map((e, i) => {
      const cost = (plan.checks[i] as Plan['checks'][number]).cost
      const before = e.lease.used
      e.lease.take(cost, e.slot)
      const candidate = e.slot ? 0 : e.candidates.indexOf(e.lease.key as string)
      return { key: e.check.k + candidate, used: before, resetAt: e.slot ? 0 : e.lease.to }
    })
    return this.#reservation(
      decide(plan, { admitted: true, now, slots }, request, meta),
      entries,
    ) as Reservation
  }

  async #reserveRemote(
    state: TenantLeases,
    entries: Entry[],
    plan: Plan,
    request: LimitRequest,
    meta: { id: string; backend: 'redis' },
  ): Promise<Reservation | Rejection> {
    const now = this.#clock()
    const costs = plan.checks.map((c) => c.cost)
    // What the leases cover is taken from them; the rest is charged by the script.
    const taken = entries.map((e, i) => {
      if (!this.#usable(e, costs[i] as number, now)) return false
      e.lease.take(costs[i] as number, e.slot)
      return true
    })
    const checks = entries.map((e, i) => this.#leaseCheck(state, e, taken[i] ? 0 : (costs[i] as number), now))
    let reply: LeaseReply
    try {
      reply = await this.#call(state, checks, now)
    } catch (error) {
      entries.forEach((e, i) => {
        if (taken[i]) e.lease.untake(costs[i] as number, e.slot)
      })
      throw error
    }
    if (reply.admitted) this.#apply(entries, checks, reply, now)
    else {
      entries.forEach((e, i) => {
        if (taken[i]) e.lease.untake(costs[i] as number, e.slot)
      })
    }
    const slots: SlotReading[] = reply.grants.map((g, i) => ({
      key: (entries[i] as Entry).check.k + g.candidate,
      used: taken[i] ? Math.max(0, g.used - (entries[i]?.slot ? 1 : (costs[i] as number))) : g.used,
      resetAt: g.resetAt,
    }))
    return this.#reservation(
      decide(plan, { admitted: reply.admitted, now: reply.now, slots }, request, meta),
      entries,
    )
  }

  #reservation(result: Reservation | Rejection, entries: Entry[]): Reservation | Rejection {
    if (result.ok) {
      const charges = entries.map((e, i): Charge => {
        const kind = result.checks[i]?.kind
        const unit =
          kind === 'tokensPerMinute' || kind === 'tokensPerDay'
            ? 'tokens'
            : kind === 'budget'
              ? 'spend'
              : kind === 'concurrency'
                ? 'slot'
                : 'request'
        return { lease: e.lease, key: e.lease.key as string, unit }
      })
      this.#chargedOn.set(result, charges)
    }
    return result
  }

  /**
   * #leaseCheck is what one check asks of the script. A counter lease that cannot cover the call
   * (or expired, or was granted under another limit) is given back whole, so the call is judged
   * against the counter alone; spare slots beyond the lease are given back.
   */
  #leaseCheck(state: TenantLeases, e: Entry, need: number, now: number): LeaseCheck {
    const l = e.lease
    const cap = this.#closed ? 0 : leaseCap(e.check.l, this.#fraction)
    const idle = l.idle
    let want = l.want(now, this.#leaseMs, cap)
    if (this.#closed || (need === 0 && idle)) want = 0
    l.wanted = want
    const base = { check: e.check, candidates: e.candidates, leases: e.leases, need, want, cap }
    const valid = !this.#closed && l.limit === e.check.l && now < l.expiresAt
    if (e.slot) {
      // spare slots not kept are given back: the script recounts the holder's slots from these
      if (!valid) l.unused = 0
      return { ...base, mine: l.unused, mineCandidate: -1, inUse: l.inUse }
    }
    const keep = valid && need === 0 && l.key !== undefined && e.candidates.includes(l.key)
    if (!keep && l.unused > 0 && l.key !== undefined) {
      add(state.pending, l.key, -l.unused)
      l.unused = 0
    }
    const mineCandidate = keep ? e.candidates.indexOf(l.key as string) : -1
    return { ...base, mine: keep ? l.unused : 0, mineCandidate, inUse: 0 }
  }

  async #call(state: TenantLeases, checks: LeaseCheck[], now: number): Promise<LeaseReply> {
    const adjust = state.pending
    state.pending = new Map()
    // A call that failed may have been applied: its settlements are not sent again (the estimate
    // stays counted, the safe side).
    try {
      return await this.#executor.lease({
        holder: this.#holder,
        now: this.#overrideNow ? now : undefined,
        leaseMs: this.#leaseMs,
        checks,
        adjust,
      })
    } catch (error) {
      // Redis did not answer: the tenant's leases are not used again until it does, so a call
      // admitted after a refusal the failure caused always means Redis serves again (no call is
      // admitted, refused, then admitted again from what is left of a lease).
      expireLeases(state)
      throw error
    }
  }

  /**
   * suspend: Redis is down, and the caller refused calls without asking it. No lease of any
   * tenant admits a call until Redis answers again, as after a call to Redis that failed.
   */
  suspend(): void {
    for (const state of this.#tenants.values()) expireLeases(state)
  }

  #apply(entries: Entry[], checks: LeaseCheck[], reply: LeaseReply, sentAt: number): void {
    entries.forEach((e, i) => {
      const g = reply.grants[i]
      const lc = checks[i] as LeaseCheck
      if (!g) return
      const l = e.lease
      l.limit = e.check.l
      l.holders = g.holders
      l.expiresAt = sentAt + this.#leaseMs
      l.key = g.key
      l.recorded = lc.mine + g.grant
      if (e.slot) {
        l.held = g.held
        l.unused += g.grant
        if (lc.need > 0) l.charged(1, true)
      } else {
        if (lc.mineCandidate !== g.candidate) l.unused = 0
        l.unused += g.grant
        l.to = g.resetAt
        l.from = e.check.t === 'w' ? g.resetAt - (e.check.w as number) : (e.check.b?.[g.candidate] as number)
        if (lc.need > 0) l.charged(lc.need, false)
      }
      l.used = g.used + lc.need
    })
  }

  /** #sync renews, tops up or returns the given leases and sends the settlements; never refused. */
  async #sync(state: TenantLeases, entries: Entry[]): Promise<void> {
    const now = this.#clock()
    const checks = entries.map((e) => this.#leaseCheck(state, e, 0, now))
    if (checks.length === 0 && state.pending.size === 0) return
    const reply = await this.#call(state, checks, now)
    this.#apply(entries, checks, reply, now)
  }

  /**
   * #run queues work behind the tenant's other calls to Redis: one at a time, in order, each
   * waiter woken once (the holder's lease state must not change under a call in flight).
   */
  #run<T>(state: TenantLeases, work: () => Promise<T>): Promise<T> {
    state.queued++
    const run = state.tail.then(work)
    state.tail = run.then(
      () => {
        state.queued--
      },
      () => {
        state.queued--
      },
    )
    return run
  }

  /** #topUpWhenLow asks for more lease, off the call's path, when a lease runs low or out. */
  #topUpWhenLow(state: TenantLeases, entries: Entry[], now: number): void {
    if (state.queued > 0 || this.#fraction <= 0) return
    const low = entries.some((e) => !e.slot && (e.lease.low || e.lease.expiresAt - now < this.#leaseMs / 2))
    if (!low) return
    this.#run(state, () => this.#sync(state, entries)).catch(() => {})
  }

  /** #flushSoon sends the settlements of the next few milliseconds in one call. */
  #flushSoon(state: TenantLeases): Promise<void> {
    if (state.flush) return state.flush
    const flush = new Promise<void>((resolve, reject) => {
      setTimeout(() => {
        state.flush = undefined
        this.#run(state, () => this.#sync(state, this.#due(state, this.#clock(), true))).then(
          resolve,
          (cause) =>
            reject(
              cause instanceof LimiterUnavailableError
                ? cause
                : new LimiterUnavailableError('settle', { cause }),
            ),
        )
      }, this.#settleBatchMs).unref()
    })
    state.flush = flush
    return flush
  }

  /**
   * #due lists the leases a tick must attend to: slots to renew or give back, leases that expired
   * with something unused, active leases about to expire. Leases of windows and periods long over
   * are forgotten (their counters are gone).
   */
  #due(state: TenantLeases, now: number, settling: boolean): Entry[] {
    const due: Entry[] = []
    for (const [id, e] of state.entries) {
      const l = e.lease
      if (e.slot) {
        const excess = l.held - l.inUse - l.unused
        if (l.held > 0 && (settling ? excess > 0 : true)) due.push(e)
        continue
      }
      const c = e.check
      const over = c.t === 'w' ? now >= (c.s as number) + 3 * (c.w as number) : now >= (c.b?.[3] as number)
      if (over && state.pending.size === 0) {
        state.entries.delete(id)
        continue
      }
      if (settling) continue
      if (l.unused > 0 && now >= l.expiresAt) due.push(e)
      else if (!l.idle && l.expiresAt - now < this.#leaseMs / 2) due.push(e)
    }
    return due
  }

  #schedule(): void {
    if (this.#timer || this.#closed) return
    const every = Math.max(
      20,
      Math.min(1_000, Math.floor(this.#leaseMs / 2), Math.floor(this.#slotLeaseMs / 3)),
    )
    this.#timer = setInterval(() => this.#tick(), every)
    this.#timer.unref()
  }

  #tick(): void {
    const now = this.#clock()
    for (const state of this.#tenants.values()) {
      if (state.queued > 0) continue
      const due = this.#due(state, now, false)
      if (due.length === 0 && state.pending.size === 0) continue
      this.#run(state, () => this.#sync(state, due)).catch(() => {})
    }
  }
}

function add(map: Map<string, number>, key: string, delta: number): void {
  const sum = (map.get(key) ?? 0) + delta
  if (sum === 0) map.delete(key)
  else map.set(key, sum)
}

/** expireLeases ends every lease of the tenant: the next call of each asks Redis. */
function expireLeases(state: TenantLeases): void {
  for (const e of state.entries.values()) e.lease.expiresAt = 0
}
