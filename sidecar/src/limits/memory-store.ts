/**
 * MemoryStore holds counters and sorted sets with expiry, the few Redis structures the limiter
 * uses, for standalone mode and the failureMode=open fallback. Expired entries vanish on read and
 * in a sweep at most once a minute, so memory stays bounded by live windows.
 */
export class MemoryStore {
  #counters = new Map<string, { value: number; expireAt: number }>()
  #sets = new Map<string, { members: Map<string, number>; expireAt: number }>()
  #nextSweep = 0

  /** get returns the counter, or undefined when it does not exist (or expired). */
  get(key: string, now: number): number | undefined {
    return this.#counter(key, now)?.value
  }

  /** incrBy adds delta and returns the new value; a new counter lives until expireAt. */
  incrBy(key: string, delta: number, now: number, expireAt: number): number {
    this.#sweep(now)
    const entry = this.#counter(key, now)
    if (!entry) {
      this.#counters.set(key, { value: delta, expireAt })
      return delta
    }
    entry.value += delta
    return entry.value
  }

  /** set overwrites an existing counter's value and keeps its expiry. */
  set(key: string, value: number, now: number): void {
    const entry = this.#counter(key, now)
    if (entry) entry.value = value
  }

  /** zRemoveUpToAndCount drops members scored at or below max and returns how many remain. */
  zRemoveUpToAndCount(key: string, max: number, now: number): number {
    const set = this.#set(key, now)
    if (!set) return 0
    for (const [member, score] of set.members) if (score <= max) set.members.delete(member)
    return set.members.size
  }

  zAdd(key: string, score: number, member: string, now: number, expireAt: number): void {
    this.#sweep(now)
    let set = this.#set(key, now)
    if (!set) {
      set = { members: new Map(), expireAt }
      this.#sets.set(key, set)
    }
    set.members.set(member, score)
    set.expireAt = expireAt
  }

  /** zRenew sets the score of a member that is still there (ZADD XX) and the set's expiry. */
  zRenew(key: string, member: string, score: number, now: number, expireAt: number): boolean {
    const set = this.#set(key, now)
    if (!set?.members.has(member)) return false
    set.members.set(member, score)
    set.expireAt = Math.max(set.expireAt, expireAt)
    return true
  }

  zRemove(key: string, member: string, now: number): number {
    return this.#set(key, now)?.members.delete(member) ? 1 : 0
  }

  /** size is the number of live keys, for tests of the sweep. */
  size(now: number): number {
    this.#nextSweep = 0
    this.#sweep(now)
    return this.#counters.size + this.#sets.size
  }

  #counter(key: string, now: number) {
    const entry = this.#counters.get(key)
    if (entry && entry.expireAt <= now) {
      this.#counters.delete(key)
      return undefined
    }
    return entry
  }

  #set(key: string, now: number) {
    const set = this.#sets.get(key)
    if (set && set.expireAt <= now) {
      this.#sets.delete(key)
      return undefined
    }
    return set
  }

  #sweep(now: number): void {
    if (now < this.#nextSweep) return
    this.#nextSweep = now + 60_000
    for (const [key, entry] of this.#counters) if (entry.expireAt <= now) this.#counters.delete(key)
    for (const [key, set] of this.#sets) if (set.expireAt <= now) this.#sets.delete(key)
  }
}
