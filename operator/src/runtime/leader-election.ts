import type { CoordinationV1Api, V1Lease, V1OwnerReference } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import { sleep } from './backoff.ts'
import { isConflict, isNotFound } from './kube.ts'
import type { OperatorMetrics } from './metrics.ts'
import { formatMicroTime, parseMicroTime } from './micro-time.ts'

export interface LeaderElectionOptions {
  api: CoordinationV1Api
  namespace: string
  name: string
  /** Unique per replica (pod name or host and pid). */
  identity: string
  /** How long a lease is valid without renewal; a candidate waits this long after the last renewal it saw. */
  leaseDurationMs: number
  /** The leader steps down when it could not renew for this long; must be below leaseDurationMs. */
  renewDeadlineMs: number
  /** How often to try to acquire or renew. */
  retryPeriodMs: number
  /** Set on the Lease when this replica creates it, so it is garbage-collected with its owner. */
  owner?: V1OwnerReference
  /** Called on becoming leader; the signal aborts when leadership is lost or on shutdown. */
  onStartedLeading: (signal: AbortSignal) => void | Promise<void>
  /** Called after losing leadership (or on shutdown while leading); awaited before campaigning again. */
  onStoppedLeading: () => void | Promise<void>
  logger: Logger
  metrics?: OperatorMetrics
  now?: () => number
}

/** LeaseRecord is the part of a Lease spec the election reads and writes. */
export interface LeaseRecord {
  holderIdentity?: string
  leaseDurationSeconds?: number
  acquireTime?: string
  renewTime?: string
  leaseTransitions?: number
}

/**
 * isLeaseHeldByOther decides whether a candidate must keep waiting. It judges expiry by the local
 * time it first saw the current record (client-go's approach), never by the holder's clock, so
 * clock skew between replicas cannot shorten a lease.
 */
export function isLeaseHeldByOther(
  record: LeaseRecord,
  identity: string,
  observedAtMs: number,
  nowMs: number,
  leaseDurationMs: number,
): boolean {
  if (!record.holderIdentity || record.holderIdentity === identity) return false
  return observedAtMs + leaseDurationMs > nowMs
}

/** nextLeaseRecord is the record to write to take or keep the lease at `now`. */
export function nextLeaseRecord(
  current: LeaseRecord | undefined,
  identity: string,
  now: Date,
  leaseDurationMs: number,
): LeaseRecord {
  const mine = current?.holderIdentity === identity
  const stamp = formatMicroTime(now)
  return {
    holderIdentity: identity,
    leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
    acquireTime: mine && current?.acquireTime ? current.acquireTime : stamp,
    renewTime: stamp,
    leaseTransitions: (current?.leaseTransitions ?? 0) + (mine || !current ? 0 : 1),
  }
}

/**
 * LeaderElector campaigns for a coordination.k8s.io/v1 Lease, so that of several replicas exactly
 * one writes. Writes use the Lease's resourceVersion (optimistic concurrency): two candidates that
 * race see one 409. The leader stops its work when it cannot renew within renewDeadline, which
 * is shorter than the lease duration others wait, and releases the lease on shutdown so a
 * successor takes over at once.
 */
export class LeaderElector {
  readonly #options: LeaderElectionOptions
  readonly #now: () => number
  #observed: { key: string; at: number } | undefined
  #leading = false
  #lastRenew = 0
  #leaderAbort: AbortController | undefined
  #leaderWork: Promise<void> | undefined
  #stop = new AbortController()
  #loop: Promise<void> | undefined

  constructor(options: LeaderElectionOptions) {
    if (options.renewDeadlineMs >= options.leaseDurationMs)
      throw new Error('leader election: renewDeadline must be shorter than leaseDuration')
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  get isLeader(): boolean {
    return this.#leading
  }

  get identity(): string {
    return this.#options.identity
  }

  start(): void {
    this.#loop ??= this.#run()
  }

  /** stop stops the leader's work, releases the lease if held, and ends the campaign. */
  async stop(): Promise<void> {
    this.#stop.abort()
    await this.#loop
  }

  async #run(): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs, logger } = this.#options
    while (!this.#stop.signal.aborted) {
      let ok = false
      try {
        // A request that never answers (a connection whose packets are dropped) must not stop the
        // campaign: a leader must still step down in time, a candidate still take over. Each try
        // gets half the renew deadline, as client-go bounds its tries by a deadline.
        ok = await withDeadline(this.#tryAcquireOrRenew(), renewDeadlineMs / 2)
      } catch (error) {
        logger.warn({ err: error, lease: this.#options.name }, 'leader election: acquire or renew failed')
      }
      const now = this.#now()
      if (ok) this.#lastRenew = now
      if (ok && !this.#leading) this.#becomeLeader()
      else if (!ok && this.#leading && now - this.#lastRenew >= renewDeadlineMs) {
        logger.warn({ identity: this.identity }, 'leader election: could not renew in time; stepping down')
        await this.#stepDown()
      }
      // Candidates spread their polls; the leader renews on the period.
      const wait = this.#leading ? retryPeriodMs : retryPeriodMs * (1 + Math.random() * 0.2)
      await sleep(wait, this.#stop.signal)
    }
    if (this.#leading) {
      await this.#stepDown()
      await this.#release()
    }
  }

  #becomeLeader(): void {
    const { logger, metrics } = this.#options
    this.#leading = true
    metrics?.leader.set(1)
    metrics?.leaderTransitions.inc()
    logger.info({ identity: this.identity, lease: this.#options.name }, 'became leader')
    this.#leaderAbort = new AbortController()
    this.#leaderWork = Promise.resolve(this.#options.onStartedLeading(this.#leaderAbort.signal)).catch(
      (error) => {
        logger.error({ err: error }, 'leader work failed to start')
      },
    )
  }

  async #stepDown(): Promise<void> {
    const { logger, metrics } = this.#options
    this.#leading = false
    metrics?.leader.set(0)
    metrics?.leaderTransitions.inc()
    this.#leaderAbort?.abort()
    await this.#leaderWork
    try {
      await this.#options.onStoppedLeading()
    } catch (error) {
      logger.error({ err: error }, 'stopping leader work failed')
    }
    logger.info({ identity: this.identity }, 'stopped leading')
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name, identity, leaseDurationMs } = this.#options
    const now = this.#now()
    let lease: V1Lease
    try {
      lease = await api.readNamespacedLease({ name, namespace })
    } catch (error) {
      if (!isNotFound(error)) throw error
      try {
        await api.createNamespacedLease({
          namespace,
          body: {
            metadata: {
              name,
              namespace,
              ...(this.#options.owner && { ownerReferences: [this.#options.owner] }),
            },
            spec: nextLeaseRecord(undefined, identity, new Date(now), leaseDurationMs) as never,
          },
        })
        return true
      } catch (createError) {
        if (isConflict(createError)) return false
        throw createError
      }
    }
    const record = toRecord(lease)
    const observedKey = `${lease.metadata?.resourceVersion}`
    if (this.#observed?.key !== observedKey) this.#observed = { key: observedKey, at: now }
    const duration = (record.leaseDurationSeconds ?? leaseDurationMs / 1000) * 1000
    if (isLeaseHeldByOther(record, identity, this.#observed.at, now, duration)) return false
    try {
      await api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          metadata: { ...lease.metadata, name, namespace },
          spec: nextLeaseRecord(record, identity, new Date(now), leaseDurationMs) as never,
        },
      })
      return true
    } catch (error) {
      if (isConflict(error)) return false
      throw error
    }
  }

  /** #release gives the lease up (empty holder) so a successor need not wait for expiry. */
  async #release(): Promise<void> {
    const { api, namespace, name, identity, logger } = this.#options
    try {
      const lease = await api.readNamespacedLease({ name, namespace })
      if (toRecord(lease).holderIdentity !== identity) return
      const stamp = formatMicroTime(new Date(this.#now()))
      await api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          metadata: lease.metadata,
          spec: {
            ...toRecord(lease),
            holderIdentity: '',
            leaseDurationSeconds: 1,
            renewTime: stamp,
          } as never,
        },
      })
      logger.info({ identity }, 'released leader lease')
    } catch (error) {
      logger.warn({ err: error }, 'could not release leader lease; it expires by itself')
    }
  }
}

function toRecord(lease: V1Lease): LeaseRecord {
  const spec = (lease.spec ?? {}) as Record<string, unknown>
  const time = (value: unknown) => {
    const ms = parseMicroTime(value)
    return ms === undefined ? undefined : typeof value === 'string' ? value : formatMicroTime(new Date(ms))
  }
  return {
    holderIdentity: spec.holderIdentity as string | undefined,
    leaseDurationSeconds: spec.leaseDurationSeconds as number | undefined,
    acquireTime: time(spec.acquireTime),
    renewTime: time(spec.renewTime),
    leaseTransitions: spec.leaseTransitions as number | undefined,
  }
}

/** withDeadline rejects when work has not settled within ms (the work itself runs on). */
function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the API server within ${ms} ms`)), ms)
  })
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer))
}
