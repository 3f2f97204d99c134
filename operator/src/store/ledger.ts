import { END_USER_MAX_LENGTH, isCorrectionInstance, isModelName, type UsageCounter } from '@tollgate/api'
import type { UsageRow } from '../redis/usage-counters.ts'
import type { PeriodTotals } from '../usage/budget-state.ts'
import type { Db } from './db.ts'
import { capEndUsers } from './end-user-cap.ts'

/** LEDGER_COLUMNS are the counter columns of the ledger: counter name and column name. */
export const LEDGER_COLUMNS: [UsageCounter, string][] = [
  ['requests', 'requests'],
  ['cacheHits', 'cache_hits'],
  ['errors', 'errors'],
  ['inputTokens', 'input_tokens'],
  ['outputTokens', 'output_tokens'],
  ['cachedInputTokens', 'cached_input_tokens'],
  ['reasoningTokens', 'reasoning_tokens'],
  ['costNano', 'cost_nano'],
  ['cacheWrite5mTokens', 'cache_write_5m_tokens'],
  ['cacheWrite1hTokens', 'cache_write_1h_tokens'],
  ['audioInputTokens', 'audio_input_tokens'],
  ['audioOutputTokens', 'audio_output_tokens'],
  ['imageInputTokens', 'image_input_tokens'],
  ['imageOutputTokens', 'image_output_tokens'],
  ['images', 'images'],
  ['audioSeconds', 'audio_seconds'],
  ['characters', 'characters'],
  ['cacheSavedNano', 'cache_saved_nano'],
]

/** RecordFilter narrows Ledger.records to rows of these dimension values. */
export interface RecordFilter {
  provider?: string
  model?: string
  namespace?: string
  workload?: string
  user?: string
}

/** FILTER_COLUMNS are the ledger columns of RecordFilter's dimensions. */
export const FILTER_COLUMNS: Record<keyof RecordFilter, string> = {
  provider: 'provider',
  model: 'model',
  namespace: 'namespace',
  workload: 'workload',
  user: 'end_user',
}

/** LedgerHour is the rows of one tenant and UTC hour, to be written as absolute totals. */
export interface LedgerHour {
  hour: Date
  rows: UsageRow[]
}

/** LedgerRecord is one row of the ledger as exported. */
export interface LedgerRecord {
  tenant: string
  hour: string
  provider: string
  model: string
  namespace: string
  /** The pod's workload (`deployment/app`); '' for rows before issue 15. */
  workload: string
  /** The end user the calls named, `other` past the tenant's cap; '' for none. */
  user: string
  requests: number
  cacheHits: number
  errors: number
  inputTokens: number
  outputTokens: number
  cachedInputTokens: number
  reasoningTokens: number
  costNano: number
  cacheWrite5mTokens: number
  cacheWrite1hTokens: number
  audioInputTokens: number
  audioOutputTokens: number
  imageInputTokens: number
  imageOutputTokens: number
  images: number
  audioSeconds: number
  characters: number
  cacheSavedNano: number
}

const KEY = ['tenant', 'hour', 'provider', 'model', 'namespace', 'workload', 'end_user']
const COUNTERS = LEDGER_COLUMNS.map(([, c]) => c)

/**
 * instanceUpsertSql writes n rows of usage_instances in one statement. Each is one sidecar
 * instance's absolute totals, which only grow: a repeated flush changes nothing, and a row is
 * never lowered (GREATEST), whatever Redis lost.
 */
export function instanceUpsertSql(n: number): string {
  const cols = [...KEY, 'instance', ...COUNTERS]
  const values = Array.from(
    { length: n },
    (_, r) => `(${cols.map((_, c) => `$${r * cols.length + c + 1}`).join(', ')})`,
  ).join(',\n  ')
  const set = COUNTERS.map((c) => `${c} = GREATEST(usage_instances.${c}, EXCLUDED.${c})`).join(', ')
  const grows = COUNTERS.map((c) => `usage_instances.${c} < EXCLUDED.${c}`).join(' OR ')
  return `INSERT INTO usage_instances (${cols.join(', ')}) VALUES
  ${values}
ON CONFLICT (${[...KEY, 'instance'].join(', ')}) DO UPDATE SET ${set}, updated_at = now()
WHERE ${grows}`
}

/**
 * ROLLUP_SQL sets usage_hourly of the given series of one tenant ($1; hours, providers, models,
 * namespaces, workloads, end users as arrays $2..$7) to the sum over their instances, writing only
 * rows that change.
 */
export const ROLLUP_SQL = `INSERT INTO usage_hourly (${[...KEY, ...COUNTERS].join(', ')})
SELECT ${KEY.join(', ')}, ${COUNTERS.map((c) => `sum(${c})`).join(', ')}
FROM usage_instances
WHERE tenant = $1 AND (hour, provider, model, namespace, workload, end_user) IN (
  SELECT * FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]))
GROUP BY ${KEY.join(', ')}
ON CONFLICT (${KEY.join(', ')}) DO UPDATE SET ${COUNTERS.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}, updated_at = now()
WHERE ${COUNTERS.map((c) => `usage_hourly.${c} IS DISTINCT FROM EXCLUDED.${c}`).join(' OR ')}`

const BATCH = 500
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/
/** A workload is `<kind>/<name>` (workloadName): a lower-case kind and an object name. */
const WORKLOAD = /^[a-z0-9]{1,63}\/[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/
/** Default of LedgerOptions.endUsersPerHour. */
export const DEFAULT_END_USERS_PER_HOUR = 100

/**
 * rowProblem says why a row cannot go into the ledger, or undefined when it can: names the
 * primary key could not hold (Postgres refuses index rows over about 2.7 KB, and one such row
 * failed the whole transaction of its tenant for ever) and counters that are not int64 totals.
 */
export function rowProblem(row: UsageRow): string | undefined {
  if (!DNS_LABEL.test(row.provider))
    return `provider ${JSON.stringify(row.provider.slice(0, 80))} is not a provider name`
  if (!isModelName(row.model)) return `model of ${row.model.length} characters is not a model name`
  if (!DNS_LABEL.test(row.namespace))
    return `namespace ${JSON.stringify(row.namespace.slice(0, 80))} is not a namespace name`
  const workload = row.workload ?? ''
  if (workload !== '' && !WORKLOAD.test(workload))
    return `workload ${JSON.stringify(workload.slice(0, 80))} is not a workload name`
  const user = row.user ?? ''
  if (user.length > END_USER_MAX_LENGTH) return `end user of ${user.length} characters is too long`
  // a correction (a deferred call settled) holds final - estimate: it may be negative
  const correction = isCorrectionInstance(row.instance)
  for (const [counter] of LEDGER_COLUMNS) {
    const value = row.counters[counter]
    if (!Number.isSafeInteger(value) || (value < 0 && !correction))
      return `${counter} ${value} is not a count`
  }
  return undefined
}

/**
 * LedgerOptions: onSkip hears of every row written nowhere because of rowProblem;
 * endUsersPerHour is the per-tenant cap of distinct end users in an hour (capEndUsers), default
 * DEFAULT_END_USERS_PER_HOUR.
 */
export interface LedgerOptions {
  onSkip?: (tenant: string, hour: Date, row: UsageRow, reason: string) => void
  endUsersPerHour?: number
}

/** Ledger is the hourly usage ledger in Postgres. */
export class Ledger {
  readonly #db: Db
  readonly #onSkip: NonNullable<LedgerOptions['onSkip']>
  readonly #endUsers: number
  constructor(db: Db, options: LedgerOptions = {}) {
    this.#db = db
    this.#onSkip = options.onSkip ?? (() => {})
    this.#endUsers = options.endUsersPerHour ?? DEFAULT_END_USERS_PER_HOUR
  }

  /**
   * write upserts the absolute totals of a tenant's hours, per sidecar instance, and sets each
   * series of usage_hourly to the sum of its instances, in one transaction: a repeated flush of
   * the same totals changes nothing, a later flush with larger totals raises them, and totals
   * Redis lost are kept. A row the ledger cannot hold (rowProblem) is skipped and reported to
   * onSkip, so that one bad row never holds back the others. End users past the tenant's cap
   * count as `other` (capEndUsers). Returns the number of usage_hourly rows written or changed.
   */
  async write(tenant: string, hours: LedgerHour[]): Promise<number> {
    const checked = hours.map(({ hour, rows }) => ({
      hour,
      rows: rows
        .map((row) => ({ ...row, workload: row.workload ?? '', user: row.user ?? '' }))
        .filter((row) => {
          const problem = rowProblem(row)
          if (problem === undefined) return true
          this.#onSkip(tenant, hour, row, problem)
          return false
        }),
    }))
    if (checked.every((h) => h.rows.length === 0)) return 0
    return this.#db.transaction(async (client) => {
      const withUsers = checked.filter((h) => h.rows.some((r) => r.user))
      const known = new Map<number, Set<string>>()
      if (withUsers.length > 0) {
        const result = await client.query<{ hour: Date; end_user: string }>(
          `SELECT DISTINCT hour, end_user FROM usage_instances
           WHERE tenant = $1 AND hour = ANY($2::timestamptz[]) AND end_user <> ''`,
          [tenant, withUsers.map((h) => h.hour)],
        )
        for (const r of result.rows) {
          const users = known.get(r.hour.getTime()) ?? new Set()
          users.add(r.end_user)
          known.set(r.hour.getTime(), users)
        }
      }
      const rows = checked.flatMap(({ hour, rows }) =>
        capEndUsers(rows, known.get(hour.getTime()) ?? new Set(), this.#endUsers).map((row) => ({
          hour,
          row,
        })),
      )
      const series = new Map<string, { hour: Date; row: UsageRow }>()
      for (const r of rows)
        series.set(
          `${r.hour.toISOString()}|${r.row.provider}|${r.row.model}|${r.row.namespace}|${r.row.workload}|${r.row.user}`,
          r,
        )
      for (let i = 0; i < rows.length; i += BATCH) {
        const batch = rows.slice(i, i + BATCH)
        const values = batch.flatMap(({ hour, row }) => [
          tenant,
          hour,
          row.provider,
          row.model,
          row.namespace,
          row.workload,
          row.user,
          row.instance ?? '',
          ...LEDGER_COLUMNS.map(([counter]) => row.counters[counter]),
        ])
        await client.query(instanceUpsertSql(batch.length), values)
      }
      const touched = [...series.values()]
      const result = await client.query(ROLLUP_SQL, [
        tenant,
        touched.map((s) => s.hour),
        touched.map((s) => s.row.provider),
        touched.map((s) => s.row.model),
        touched.map((s) => s.row.namespace),
        touched.map((s) => s.row.workload),
        touched.map((s) => s.row.user),
      ])
      return result.rowCount ?? 0
    })
  }

  /** totals sums a tenant's usage over [from, to) (whole UTC hours). */
  async totals(tenant: string, from: Date, to: Date): Promise<PeriodTotals> {
    const { rows } = await this.#db.query<Record<string, string | null>>(
      `SELECT sum(requests) AS requests, sum(input_tokens) AS input_tokens,
              sum(output_tokens) AS output_tokens, sum(cost_nano) AS cost_nano
       FROM usage_hourly WHERE tenant = $1 AND hour >= $2 AND hour < $3`,
      [tenant, from, to],
    )
    const row = rows[0] ?? {}
    return {
      requests: Number(row.requests ?? 0),
      inputTokens: Number(row.input_tokens ?? 0),
      outputTokens: Number(row.output_tokens ?? 0),
      costNano: Number(row.cost_nano ?? 0),
    }
  }

  /**
   * records lists a tenant's ledger rows over [from, to), by hour then dimensions; `filter` keeps
   * the rows whose dimensions equal the values given.
   */
  async records(tenant: string, from: Date, to: Date, filter: RecordFilter = {}): Promise<LedgerRecord[]> {
    const params: unknown[] = [tenant, from, to]
    const where = Object.entries(filter)
      .filter(([, v]) => v !== undefined)
      .map(([dim, value]) => {
        params.push(value)
        return `AND ${FILTER_COLUMNS[dim as keyof RecordFilter]} = $${params.length}`
      })
      .join(' ')
    const { rows } = await this.#db.query<Record<string, unknown>>(
      `SELECT tenant, hour, provider, model, namespace, workload, end_user, ${LEDGER_COLUMNS.map(([, c]) => c).join(', ')}
       FROM usage_hourly WHERE tenant = $1 AND hour >= $2 AND hour < $3 ${where}
       ORDER BY hour, provider, model, namespace, workload, end_user`,
      params,
    )
    return rows.map((row) => ({
      tenant: row.tenant as string,
      hour: (row.hour as Date).toISOString(),
      provider: row.provider as string,
      model: row.model as string,
      namespace: row.namespace as string,
      workload: row.workload as string,
      user: row.end_user as string,
      ...(Object.fromEntries(LEDGER_COLUMNS.map(([counter, c]) => [counter, Number(row[c])])) as Record<
        UsageCounter,
        number
      >),
    }))
  }
}
