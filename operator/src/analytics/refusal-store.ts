import type { CallEvent } from '@tollgate/api'
import type { Db } from '../store/db.ts'

/** Refusal is one refused call as stored. */
export interface Refusal {
  at: string
  limit: string
  status: number
  provider: string
  model: string
  namespace: string
  workload: string
  user: string
}

/** RefusalStore keeps refused calls (the refusals table) and counts them by limit. */
export class RefusalStore {
  readonly #db: Db
  constructor(db: Db) {
    this.#db = db
  }

  /** add stores refusals read from a tenant's feed, each once (its stream id). */
  async add(
    tenant: string,
    entries: { id: string; event: CallEvent & { refusedBy: string } }[],
  ): Promise<void> {
    if (entries.length === 0) return
    const cols = 10
    const values = entries
      .map((_, r) => `(${Array.from({ length: cols }, (_, c) => `$${r * cols + c + 1}`).join(', ')})`)
      .join(', ')
    await this.#db.query(
      `INSERT INTO refusals (tenant, id, at, limit_scope, status, provider, model, namespace, workload, end_user)
       VALUES ${values} ON CONFLICT DO NOTHING`,
      entries.flatMap(({ id, event: e }) => [
        tenant,
        id,
        new Date(e.at),
        e.refusedBy.slice(0, 500),
        e.status,
        e.provider,
        e.model,
        e.namespace,
        e.workload,
        e.user,
      ]),
    )
  }

  /** byLimit counts a tenant's refusals over [from, to) per limit, most first. */
  async byLimit(tenants: string[], from: Date, to: Date): Promise<{ limit: string; refusals: number }[]> {
    const { rows } = await this.#db.query(
      `SELECT limit_scope, count(*)::int AS n FROM refusals
       WHERE tenant = ANY($1) AND at >= $2 AND at < $3
       GROUP BY limit_scope ORDER BY n DESC, limit_scope`,
      [tenants, from, to],
    )
    return rows.map((r) => ({ limit: r.limit_scope as string, refusals: r.n as number }))
  }

  /** recent lists a tenant's latest refusals, newest first. */
  async recent(tenant: string, limit = 20): Promise<Refusal[]> {
    const { rows } = await this.#db.query(
      `SELECT at, limit_scope, status, provider, model, namespace, workload, end_user FROM refusals
       WHERE tenant = $1 ORDER BY at DESC, id DESC LIMIT $2`,
      [tenant, limit],
    )
    return rows.map((r) => ({
      at: (r.at as Date).toISOString(),
      limit: r.limit_scope as string,
      status: r.status as number,
      provider: r.provider as string,
      model: r.model as string,
      namespace: r.namespace as string,
      workload: r.workload as string,
      user: r.end_user as string,
    }))
  }
}
