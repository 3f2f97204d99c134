import { createHash } from 'node:crypto'
import type { RateLimitPolicy, Tenant } from '@tollgate/api'
import type { Db } from './db.ts'

/** specHash is the sha256 of a spec's canonical JSON (keys sorted), stable across key order. */
export function specHash(spec: unknown): string {
  return createHash('sha256').update(canonicalJSON(spec)).digest('hex')
}

/** canonicalJSON is JSON with object keys sorted at every level. */
export function canonicalJSON(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  )
}

type Kind = 'Tenant' | 'RateLimitPolicy'

const rowKey = (uid: string, generation: number, spec: string, version: number, config: string) =>
  `${uid}|${generation}|${spec}|${version}|${config}`
const TABLE: Record<Kind, 'tenants' | 'policies'> = { Tenant: 'tenants', RateLimitPolicy: 'policies' }

/**
 * UPSERT writes the row only when the spec changed (or the object came back after deletion),
 * and appends an audit row in the same statement: `created` for a new or revived name,
 * `updated` for a changed spec. An unchanged spec writes nothing.
 */
const upsertSql = (table: string, kind: Kind, extraCols: string[]) => {
  const cols = ['name', 'uid', 'generation', 'spec', 'spec_hash', ...extraCols]
  const params = cols.map((_, i) => `$${i + 1}`)
  const updates = ['uid', 'generation', 'spec', 'spec_hash', ...extraCols]
    .map((c) => `${c} = EXCLUDED.${c}`)
    .join(', ')
  return `
WITH before AS (
  SELECT spec_hash, deleted_at FROM ${table} WHERE name = $1
), row AS (
  INSERT INTO ${table} (${cols.join(', ')}) VALUES (${params.join(', ')})
  ON CONFLICT (name) DO UPDATE SET ${updates}, updated_at = now(), deleted_at = NULL
  WHERE ${table}.spec_hash IS DISTINCT FROM EXCLUDED.spec_hash
     OR ${table}.deleted_at IS NOT NULL
     ${extraCols.map((c) => `OR ${table}.${c} IS DISTINCT FROM EXCLUDED.${c}`).join(' ')}
  RETURNING name
)
INSERT INTO audit (kind, name, action, generation, spec_hash, spec)
SELECT '${kind}', $1,
       CASE WHEN NOT EXISTS (SELECT 1 FROM before) OR (SELECT deleted_at FROM before) IS NOT NULL
            THEN 'created' ELSE 'updated' END,
       $3, $5, $4
FROM row
WHERE NOT EXISTS (SELECT 1 FROM before WHERE spec_hash = $5 AND deleted_at IS NULL)
RETURNING action`
}

const TENANT_UPSERT = upsertSql('tenants', 'Tenant', ['config_version', 'config_hash'])
const POLICY_UPSERT = upsertSql('policies', 'RateLimitPolicy', [])

const deleteSql = (table: string, kind: Kind) => `
WITH row AS (
  UPDATE ${table} SET deleted_at = now(), updated_at = now()
  WHERE name = $1 AND deleted_at IS NULL
  RETURNING name, generation, spec_hash
)
INSERT INTO audit (kind, name, action, generation, spec_hash)
SELECT '${kind}', name, 'deleted', generation, spec_hash FROM row
RETURNING action`

/** ResourceStore keeps the durable record of Tenants and RateLimitPolicies and their audit trail. */
export class ResourceStore {
  readonly #db: Db
  /** What each tenant's row holds, as far as this process knows: a resync then writes nothing. */
  readonly #rows = new Map<string, string>()
  constructor(db: Db) {
    this.#db = db
  }

  /** prime reads every live tenant row once, so the first resync after a start skips unchanged rows. */
  async prime(): Promise<number> {
    // Another replica may have led meanwhile: forget, then read what is there.
    this.#rows.clear()
    const { rows } = await this.#db.query<{
      name: string
      uid: string
      generation: string
      spec_hash: string
      config_version: string | null
      config_hash: string | null
    }>(
      `SELECT name, uid, generation, spec_hash, config_version, config_hash FROM tenants WHERE deleted_at IS NULL`,
    )
    for (const r of rows)
      this.#rows.set(
        r.name,
        rowKey(r.uid, Number(r.generation), r.spec_hash, Number(r.config_version), r.config_hash ?? ''),
      )
    return rows.length
  }

  /** upsertTenant records the tenant and the config version in force; returns the audit action, if any. */
  async upsertTenant(tenant: Tenant, config: { version: number; hash: string }): Promise<string | undefined> {
    const name = tenant.metadata.name
    const hash = specHash(tenant.spec)
    const key = rowKey(
      tenant.metadata.uid ?? '',
      tenant.metadata.generation ?? 0,
      hash,
      config.version,
      config.hash,
    )
    if (this.#rows.get(name) === key) return undefined
    const { rows } = await this.#db.query<{ action: string }>(TENANT_UPSERT, [
      name,
      tenant.metadata.uid ?? '',
      tenant.metadata.generation ?? 0,
      JSON.stringify(tenant.spec),
      hash,
      config.version,
      config.hash,
    ])
    this.#rows.set(name, key)
    return rows[0]?.action
  }

  async upsertPolicy(policy: RateLimitPolicy): Promise<string | undefined> {
    const { rows } = await this.#db.query<{ action: string }>(POLICY_UPSERT, [
      policy.metadata.name,
      policy.metadata.uid ?? '',
      policy.metadata.generation ?? 0,
      JSON.stringify(policy.spec),
      specHash(policy.spec),
    ])
    return rows[0]?.action
  }

  /** markDeleted sets deleted_at (the row stays for the ledger's sake) and audits it once. */
  async markDeleted(kind: Kind, name: string): Promise<boolean> {
    if (kind === 'Tenant') this.#rows.delete(name)
    const { rows } = await this.#db.query(deleteSql(TABLE[kind], kind), [name])
    return rows.length > 0
  }
}
