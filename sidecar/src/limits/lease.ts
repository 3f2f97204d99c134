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
  /** What the last call to Redis asked for: the lease runs low below a quarter of it. */
  wanted = 0
  /** The unused lease Redis records for this holder (counts against the cap): `unused` never exceeds it. */
  recorded = 0

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

  /**
   * refundUpTo gives back to the lease what a settled call charged on `key` and did not use, as
   * far as the lease's record allows while it is valid; returns what it took.
   */
  refundUpTo(amount: number, key: string, now: number): number {
    if (key !== this.key || now >= this.expiresAt || now >= this.to) return 0
    const room = Math.max(0, Math.min(amount, this.recorded - this.unused))
    this.unused += room
    return room
  }

  /** refund gives back all of `amount` to the lease, or none of it; true when it did. */
  refund(amount: number, key: string, now: number): boolean {
    if (key !== this.key || now >= this.expiresAt || this.unused + amount > this.recorded) return false
    this.unused += amount
    return true
  }

  /** cover takes what a call used beyond its estimate out of the lease; returns what it took. */
  cover(amount: number, key: string, now: number): number {
    if (key !== this.key || now >= this.expiresAt || now >= this.to) return 0
    const take = Math.min(amount, this.unused)
    this.unused -= take
    return take
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
    this.wanted =
      cap <= 0 ? 0 : Math.min(Math.ceil(this.#rate * leaseMs), Math.ceil(cap / Math.max(1, this.holders)))
    return this.wanted
  }

  /** low: a quarter of what was last asked for is left; time to top up off the call's path. */
  get low(): boolean {
    return this.unused * 4 < this.wanted
  }
}

/** leaseCap is the most unused lease all sidecars together may hold on a limit: fraction × limit. */
export const leaseCap = (limit: number, fraction: number) => Math.floor(limit * fraction)
