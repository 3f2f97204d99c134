import { LimiterUnavailableError } from './errors.ts'
import type { ScriptCheck } from './plan.ts'

/** LeaseCheck is one check of a lease.lua call: the plan's check and what this holder asks. */
export interface LeaseCheck {
  /** The plan's check (type, limit, windows or periods, expiry); its `c` is ignored. */
  check: ScriptCheck
  /** The check's candidate counters (three for windows and periods, one concurrency set). */
  candidates: readonly string[]
  /** Its lease hash (keys.limitLeases, keys.spendLeases). */
  leases: string
  /** Charged now for the calling request; 0 renews and tops up only, and is never refused. */
  need: number
  /** More lease wanted: units (requests, tokens, nano-dollars) or spare slots. */
  want: number
  /** Most unused lease all holders together may hold on the counter. */
  cap: number
  /** Counters: the holder's unused lease, kept; concurrency: the slots it holds. */
  mine: number
  /** Counters: which candidate `mine` is charged on (-1: none); concurrency: unused. */
  mineCandidate: number
  /** Concurrency: the holder's calls in flight. */
  inUse: number
}

/** LeaseCall is everything one lease.lua call carries. */
export interface LeaseCall {
  holder: string
  /** Time override in epoch ms (injected clocks); undefined: Redis server time. */
  now: number | undefined
  leaseMs: number
  checks: readonly LeaseCheck[]
  /** Settlements and returns: counter key to delta, applied first. */
  adjust: ReadonlyMap<string, number>
}

/** LeaseGrant is lease.lua's answer for one check. */
export interface LeaseGrant {
  /** The counter chosen (window or period of the decision time), a key name. */
  key: string
  /** Index of `key` among the check's candidates. */
  candidate: number
  /** Counted before this call, the holder's own unused lease excluded. */
  used: number
  /** When the counter resets, epoch ms; 0 for concurrency. */
  resetAt: number
  /** Lease added (counters) or spare slots granted (concurrency). */
  grant: number
  /** Holders with a live lease on the counter, this one included. */
  holders: number
  /** Concurrency: the slots the holder holds now. */
  held: number
}

/** LeaseReply is lease.lua's answer: admitted (everything charged) or not (nothing charged). */
export interface LeaseReply {
  admitted: boolean
  now: number
  grants: LeaseGrant[]
}

const OUT = 6

/** encodeLeaseCall lays a call out as lease.lua's KEYS and ARGV (see the script's header). */
export function encodeLeaseCall(call: LeaseCall): { keys: string[]; argv: string[] } {
  const keys: string[] = []
  const argv = [call.holder, call.now === undefined ? '' : String(call.now), String(call.leaseMs)]
  argv.push(String(call.checks.length))
  for (const lc of call.checks) {
    const c = lc.check
    const k = keys.length + 1
    keys.push(...lc.candidates)
    keys.push(lc.leases)
    const h = keys.length
    const extra = c.t === 'w' ? [c.w, c.s, 0, 0] : c.t === 'p' ? (c.b ?? []) : [0, 0, 0, 0]
    const mk = lc.mineCandidate >= 0 ? k + lc.mineCandidate : 0
    argv.push(
      c.t,
      String(k),
      String(c.l),
      String(lc.need),
      String(lc.want),
      String(lc.cap),
      String(lc.mine),
      String(lc.inUse),
      String(mk),
      String(c.x),
      String(c.g),
      ...extra.map(String),
      String(h),
    )
  }
  argv.push(String(call.adjust.size))
  for (const [key, delta] of call.adjust) {
    keys.push(key)
    argv.push(String(keys.length), String(delta))
  }
  return { keys, argv }
}

/** parseLeaseReply reads lease.lua's flat reply; a reply of the wrong shape is a limiter fault. */
export function parseLeaseReply(raw: unknown, call: LeaseCall): LeaseReply {
  const n = call.checks.length
  if (!Array.isArray(raw) || raw.length !== 2 + OUT * n || !raw.every((v) => typeof v === 'number')) {
    throw new LimiterUnavailableError('lease script answered an unexpected reply')
  }
  const r = raw as number[]
  const grants: LeaseGrant[] = []
  let first = 1
  for (let i = 0; i < n; i++) {
    const lc = call.checks[i] as LeaseCheck
    const b = 2 + OUT * i
    const candidate = (r[b] as number) - first
    grants.push({
      key: lc.candidates[candidate] as string,
      candidate,
      used: r[b + 1] as number,
      resetAt: r[b + 2] as number,
      grant: r[b + 3] as number,
      holders: r[b + 4] as number,
      held: r[b + 5] as number,
    })
    first += lc.candidates.length + 1
  }
  return { admitted: r[0] === 1, now: r[1] as number, grants }
}
