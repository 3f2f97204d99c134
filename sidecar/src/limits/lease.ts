/**
 * Lease is what one sidecar holds on one check of one tenant (a window counter, a budget period,
 * a concurrency set): the part of the counter charged in advance that it may admit calls against
 * without asking Redis, until `expiresAt`. See lease.lua for the other side and docs/limits.md for
 * the rule and its bound.
 */
export class Lease {
  /** Counters: the counter the unused lease is charged on; concurrency: the set. */
  key: string | undefined = undefined
  /** Counters: the window or period of `key`, epoch ms [from, to). */
  from = 0
  to = 0
  /** The limit the lease was granted under: a changed limit makes it unusable at once. */
  limit = Number.NaN
  /** Units (or, for concurrency, slots) the holder may still admit against. */
  unused = 0
  /** Local clock; the holder stops using the lease here, never after Redis forgets it. */
  expiresAt = 0
  /** Concurrency: slots held in Redis, and calls of this sidecar holding one. */
  held = 0
  inUse = 0
  /** Holders of a live lease on the counter at the last call, this one included. */
  holders = 1
  /** Counted at the last call (own unused lease excluded), plus what was admitted since. */
  used = 0
  /** Admitted against the lease since `since`, for the rate. */
  #consumed = 0
  #since = Number.NaN
  /** Units per ms admitted, smoothed over the last calls to Redis. */
  #rate = 0

  /** take admits `cost` against the lease. */
  take(cost: number, slot: boolean): void {
    this.unused -= slot ? 1 : cost
    this.#consumed += slot ? 1 : cost
    this.used += slot ? 1 : cost
    if (slot) this.inUse++
  }

  /** untake undoes a take whose call Redis refused on another check. */
  untake(cost: number, slot: boolean): void {
    this.unused += slot ? 1 : cost
    this.#consumed -= slot ? 1 : cost
    this.used -= slot ? 1 : cost
    if (slot) this.inUse--
  }

  /** charged counts a call Redis charged directly (the lease did not cover it). */
  charged(cost: number, slot: boolean): void {
    this.#consumed += slot ? 1 : cost
    if (slot) this.inUse++
  }

  /** idle is true when nothing was admitted since the last call to Redis. */
  get idle(): boolean {
    return this.#consumed === 0
  }

  /**
   * want sizes the next lease from the recent rate: what the sidecar admits in one lease period,
   * within its share of the cap (the cap split between the holders sharing the counter). It
   * restarts the rate's measurement.
   */
  want(now: number, leaseMs: number, cap: number): number {
    if (Number.isFinite(this.#since) && now > this.#since) {
      const rate = this.#consumed / (now - this.#since)
      this.#rate = this.#rate === 0 ? rate : (this.#rate + rate) / 2
    }
    this.#consumed = 0
    this.#since = now
    if (cap <= 0) return 0
    return Math.min(Math.ceil(this.#rate * leaseMs), Math.ceil(cap / Math.max(1, this.holders)))
  }
}

/** leaseCap is the most unused lease all sidecars together may hold on a limit: fraction × limit. */
export const leaseCap = (limit: number, fraction: number) => Math.floor(limit * fraction)
