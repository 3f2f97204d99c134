import type { ReserveReply, SlotReading } from './decision.ts'
import { LimiterUnavailableError } from './errors.ts'
import type { MemoryStore } from './memory-store.ts'
import type { ScriptPlan } from './plan.ts'

/**
 * reserveInMemory runs a ScriptPlan against a MemoryStore with the rule lease.lua applies to a
 * call that needs a charge (same candidate choice, same rule, same all-or-nothing charge), per
 * call: one process shares its limits with nobody, so it needs no leases. JavaScript runs it
 * without interruption, which gives the same atomicity within one process.
 */
export function reserveInMemory(
  store: MemoryStore,
  keys: readonly string[],
  plan: ScriptPlan,
  clockNow: number,
): ReserveReply {
  const now = plan.now ?? clockNow
  const slots: SlotReading[] = []
  let admitted = true
  for (const c of plan.checks) {
    let key: number | undefined
    let used: number
    let resetAt = 0
    if (c.t === 'w') {
      const width = c.w as number
      const start = Math.floor(now / width) * width
      const slot = (start - (c.s as number)) / width
      if (slot < 0 || slot > 2) throw new LimiterUnavailableError('clock moved by more than a window')
      key = c.k + slot
      used = store.get(keys[key - 1] as string, now) ?? 0
      resetAt = start + width
    } else if (c.t === 'c') {
      key = c.k
      used = store.zRemoveUpToAndCount(keys[key - 1] as string, now, now)
    } else {
      const b = c.b as number[]
      for (let j = 0; j <= 2; j++) {
        if ((b[j] as number) <= now && now < (b[j + 1] as number)) {
          key = c.k + j
          resetAt = b[j + 1] as number
        }
      }
      if (key === undefined) throw new LimiterUnavailableError('clock moved by more than a period')
      used = store.get(keys[key - 1] as string, now) ?? 0
    }
    if (c.x === 0 && used + c.c > c.l) admitted = false
    slots.push({ key, used, resetAt })
  }

  if (admitted) {
    plan.checks.forEach((c, i) => {
      const slot = slots[i] as SlotReading
      const key = keys[slot.key - 1] as string
      if (c.t === 'c') store.zAdd(key, now + c.g, plan.id, now, now + c.g + 60_000)
      else store.incrBy(key, c.c, now, slot.resetAt + c.g)
    })
  }
  return { admitted, now, slots }
}

/** settleInMemory adjusts live counters by the deltas (never recreating one) and frees the slots. */
export function settleInMemory(
  store: MemoryStore,
  charged: { tokens: readonly string[]; spend: readonly string[]; inflight: readonly string[] },
  deltas: { tokens: number; spend: number },
  id: string,
  now: number,
): number {
  const adjust = (key: string, delta: number) => {
    if (delta === 0 || store.get(key, now) === undefined) return
    if (store.incrBy(key, delta, now, now) < 0) store.set(key, 0, now)
  }
  for (const key of charged.tokens) adjust(key, deltas.tokens)
  for (const key of charged.spend) adjust(key, deltas.spend)
  let freed = 0
  for (const key of charged.inflight) freed += store.zRemove(key, id, now)
  return freed
}

/** renewInMemory extends the leases of slots still held, never re-adding one. */
export function renewInMemory(
  store: MemoryStore,
  slots: readonly { key: string; id: string }[],
  leaseMs: number,
  now: number,
): number {
  let renewed = 0
  for (const { key, id } of slots)
    if (store.zRenew(key, id, now + leaseMs, now, now + leaseMs + 60_000)) renewed++
  return renewed
}

/** releaseInMemory frees the slots, nothing else. */
export function releaseInMemory(
  store: MemoryStore,
  slots: readonly { key: string; id: string }[],
  now: number,
): number {
  let freed = 0
  for (const { key, id } of slots) freed += store.zRemove(key, id, now)
  return freed
}
