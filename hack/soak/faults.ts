// The fault schedule: kill a part, bring it back, and time how long the system takes to recover.
import { keys } from '@tollgate/api/redis-keys.ts'
import pg from 'pg'
import type { RedisClusterService } from '../stack/redis-cluster.ts'
import type { LoadTally } from './load.ts'
import type { SoakSystem } from './system.ts'

export const FAULT_KINDS = ['redis', 'postgres', 'apiserver', 'operator'] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

/** How long a killed server stays down before it is started again. */
const DOWN_MS = 3_000
/** A recovery that takes longer than this is reported as a failure, and the schedule goes on. */
export const RECOVERY_BOUND_MS = 90_000

export interface FaultRecord {
  kind: FaultKind
  /** When the part was killed, and when it was started again (epoch ms). */
  killedMs: number
  restoredMs: number
  /** From restoredMs (the operator: the kill, as its replica is not waited for) until the system did its work again; undefined: not within the bound. */
  recoveryMs?: number
  detail: string
}

/** schedule spreads `rounds` of every kind evenly over [start, start + span). */
export function schedule(rounds: number, spanMs: number): { kind: FaultKind; atMs: number }[] {
  const n = rounds * FAULT_KINDS.length
  return Array.from({ length: n }, (_, i) => ({
    kind: FAULT_KINDS[i % FAULT_KINDS.length] as FaultKind,
    atMs: Math.round((i * spanMs) / n),
  }))
}

/** roundsFor gives a round for every two minutes, and at least two. */
export const roundsFor = (durationMs: number) => Math.max(2, Math.floor(durationMs / 120_000))

const until = async (check: () => Promise<boolean>, boundMs: number): Promise<boolean> => {
  const deadline = Date.now() + boundMs
  while (Date.now() < deadline) {
    try {
      if (await check()) return true
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  return false
}

const sidecarRedisUp = async (adminUrl: string) => {
  const text = await (await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(2000) })).text()
  return /^tollgate_redis_up(\{[^}]*\})? 1$/m.test(text)
}

/** FaultInjector kills and restores the parts of a SoakSystem and measures each recovery. */
export class FaultInjector {
  readonly #s: SoakSystem
  readonly #tally: LoadTally
  readonly #db: pg.Pool
  #redisFaults = 0

  constructor(system: SoakSystem, tally: LoadTally) {
    this.#s = system
    this.#tally = tally
    this.#db = new pg.Pool({ connectionString: system.stack.env.databaseUrl, max: 1 })
    this.#db.on('error', () => {})
  }

  async inject(kind: FaultKind): Promise<FaultRecord> {
    const s = this.#s
    const killedMs = Date.now()
    let detail = ''
    let restoredMs: number
    let recovered: () => Promise<boolean>
    switch (kind) {
      case 'redis': {
        const redis = s.stack.redis
        if ('nodes' in redis) {
          const tenant = s.tenants[this.#redisFaults++ % s.tenants.length]?.name ?? ''
          ;({ restoredMs, detail } = await crashMaster(redis, keys.config(tenant)))
        } else {
          restoredMs = await crash(redis)
          detail = 'redis-server SIGKILLed (no persistence: every key lost)'
        }
        // Sidecars reconnected, the operator wrote every config again, and each tenant was served.
        recovered = async () =>
          (await Promise.all(s.sidecars.map((c) => sidecarRedisUp(c.adminUrl)))).every(Boolean) &&
          s.tenants.every((t) => (this.#tally.lastOk.get(t.name) ?? 0) >= restoredMs)
        break
      }
      case 'postgres': {
        restoredMs = await crash(s.stack.postgres)
        detail = 'postgres SIGKILLed'
        // The leader wrote the ledger again.
        recovered = async () => {
          const { rows } = await this.#db.query<{ at: Date | null }>(
            'SELECT max(updated_at) AS at FROM usage_hourly',
          )
          return (rows[0]?.at?.getTime() ?? 0) >= restoredMs
        }
        break
      }
      case 'apiserver': {
        restoredMs = await crash(s.stack.controlPlane)
        detail = 'kube-apiserver and etcd SIGKILLed'
        // A leader holds the Lease again and renews it.
        recovered = async () => ((await s.lease())?.renewMs ?? 0) >= restoredMs
        break
      }
      case 'operator': {
        const lease = await s.lease()
        const leader = s.operators.find((o) => o.identity === lease?.holder)
        if (!leader) throw new Error(`no operator leads (lease holder ${lease?.holder})`)
        await leader.process.kill()
        restoredMs = killedMs
        detail = `leader ${leader.identity} SIGKILLed, started again once the other replica took over`
        // The other replica took the Lease over and renews it; then the killed one comes back as a
        // candidate (started at once, with its own identity, it would simply resume its own lease).
        recovered = async () => {
          const now = await s.lease()
          return !!now && now.holder !== leader.identity && now.renewMs > killedMs
        }
        break
      }
    }
    const ok = await until(recovered, RECOVERY_BOUND_MS)
    if (kind === 'operator') for (const o of s.operators) if (!o.process.running) o.process.start()
    return { kind, killedMs, restoredMs, ...(ok && { recoveryMs: Date.now() - restoredMs }), detail }
  }

  async close(): Promise<void> {
    await this.#db.end()
  }
}

/**
 * crashMaster kills the master serving a key's slot, waits until one of its replicas has taken
 * the slot over, and starts the killed node again (it comes back as a replica of the new master).
 */
async function crashMaster(
  cluster: RedisClusterService,
  key: string,
): Promise<{ restoredMs: number; detail: string }> {
  const via = () => cluster.nodes.find((n) => n.pid !== undefined && n.port !== master?.port)?.port ?? 0
  const owner = await cluster.owner(key, cluster.nodes[0]?.port ?? 0)
  const master = cluster.nodes.find((n) => n.port === owner?.master)
  if (!master) throw new Error(`no master serves the slot of ${key}`)
  await master.kill()
  const started = Date.now()
  const moved = await until(
    async () => ((await cluster.owner(key, via()))?.master ?? master.port) !== master.port,
    RECOVERY_BOUND_MS,
  )
  const failoverMs = Date.now() - started
  await master.start()
  return {
    restoredMs: Date.now(),
    detail: `master :${master.port} of the slot of ${key} SIGKILLed; ${moved ? `a replica took over in ${(failoverMs / 1000).toFixed(1)} s` : 'no replica took over'}, the node came back as a replica`,
  }
}

/** crash kills a server, leaves it down for DOWN_MS, starts it again and returns when it is back. */
async function crash(server: { kill(): Promise<void>; start(): Promise<void> }): Promise<number> {
  await server.kill()
  await new Promise((r) => setTimeout(r, DOWN_MS))
  await server.start()
  return Date.now()
}
