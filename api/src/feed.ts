/**
 * The live feed and the sidecar heartbeat: messages from sidecars (and the operator) to the
 * operator's console, in Redis (keys.feed, keys.heartbeats). Neither carries a prompt, a
 * completion or a key: a call event is its counters and names only.
 */

/** FEED_MAX_LENGTH is about how many events keys.feed keeps (XADD MAXLEN ~). */
export const FEED_MAX_LENGTH = 1000

/** CallEvent is one finished call as a sidecar reports it. */
export interface CallEvent {
  type: 'call'
  /** Epoch milliseconds when the call ended. */
  at: number
  instance: string
  provider: string
  model: string
  namespace: string
  workload: string
  user: string
  status: number
  cacheHit: boolean
  inputTokens: number
  outputTokens: number
  costNano: number
  /** What a cache hit would have cost had it gone to the provider; 0 for other calls. */
  savedNano: number
  /** The limit or budget that refused the call (its name as the 429 says), when one did. */
  refusedBy?: string
}

/** BudgetEvent is a budget threshold crossed, as the operator's alerter reports it. */
export interface BudgetEvent {
  type: 'budget'
  at: number
  period: 'day' | 'month'
  threshold: number
  spendNano: number
  limitNano: number
}

/** FeedEvent is one entry of a tenant's feed. */
export type FeedEvent = CallEvent | BudgetEvent

/** feedEntry is the XADD field list of an event: one field `e` holding its JSON. */
export const feedEntry = (event: FeedEvent): [string, string] => ['e', JSON.stringify(event)]

/** parseFeedEntry reads an XRANGE/XREAD entry's fields back; undefined for anything else. */
export function parseFeedEntry(fields: string[]): FeedEvent | undefined {
  const at = fields.indexOf('e')
  if (at < 0 || at % 2 !== 0) return undefined
  try {
    const event = JSON.parse(fields[at + 1] ?? '') as FeedEvent
    return event && (event.type === 'call' || event.type === 'budget') ? event : undefined
  } catch {
    return undefined
  }
}

/** HEARTBEAT_INTERVAL_MS is how often a sidecar writes its heartbeat. */
export const HEARTBEAT_INTERVAL_MS = 5_000
/** HEARTBEAT_STALE_MS: a heartbeat older than this is of a sidecar that has gone. */
export const HEARTBEAT_STALE_MS = 30_000

/** SidecarHeartbeat is what one sidecar process says of itself, every HEARTBEAT_INTERVAL_MS. */
export interface SidecarHeartbeat {
  instance: string
  at: number
  namespace: string
  workload: string
  /** The version of the compiled config it enforces (0: none yet). */
  configVersion: number
  /** Circuit breakers that are not closed, per provider: `open` or `half-open`. */
  breakers: Record<string, 'closed' | 'open' | 'half-open'>
  /** Whether its limiter talks to Redis (`redis`) or runs on local limits (`local`). */
  limits: 'redis' | 'local'
  /** Calls answered since start, and of them with a provider error (5xx, timeout). */
  calls: number
  providerErrors: number
}
