import pg from 'pg'
import type { Logger } from 'pino'
import { ERROR_CODES, TollgateError } from '../errors.ts'

/** Connection-level failures: the database is down or unreachable, not a bad statement. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EPIPE',
  'EHOSTUNREACH',
])
const CONNECTION_SQLSTATES = /^(08|57P0[1-3])/

/** isConnectionError tells an outage from a bad statement. */
export function isConnectionError(error: unknown): boolean {
  const e = error as { code?: string; message?: string }
  if (e?.code && (CONNECTION_CODES.has(e.code) || CONNECTION_SQLSTATES.test(e.code))) return true
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    e?.message ?? '',
  )
}

export interface DbOptions {
  url: string
  logger: Logger
  max?: number
  /** After an outage is seen, calls fail at once for this long instead of each waiting to connect. */
  failFastMs?: number
}

/**
 * Db is the operator's Postgres pool. Outages surface as TOLLGATE_ERR_DATABASE_UNAVAILABLE and,
 * for a moment after one is seen, fail fast: the reconcilers keep configs flowing to Redis
 * while Postgres is away and must not queue behind connection timeouts.
 */
export class Db {
  readonly pool: pg.Pool
  readonly #logger: Logger
  readonly #failFastMs: number
  #downUntil = 0

  constructor(options: DbOptions) {
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.max ?? 16,
      connectionTimeoutMillis: 3_000,
      idleTimeoutMillis: 30_000,
      query_timeout: 30_000,
      application_name: 'tollgate-operator',
    })
    // An idle client whose server went away emits here; without a listener the process dies.
    this.pool.on('error', (error) => options.logger.warn({ err: error }, 'postgres connection lost'))
    this.#logger = options.logger
    this.#failFastMs = options.failFastMs ?? 1_000
  }

  /** query runs one statement. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    this.#checkUp()
    try {
      return await this.pool.query<R>(text, values)
    } catch (error) {
      throw this.#wrap(error)
    }
  }

  /** transaction runs fn in BEGIN/COMMIT on one client; any error rolls back. */
  async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    this.#checkUp()
    let client: pg.PoolClient
    try {
      client = await this.pool.connect()
    } catch (error) {
      throw this.#wrap(error)
    }
    let broken = false
    // Between two statements a checked-out client has no listener of the pool's: a server that goes
    // away then (a restart, pg_terminate_backend) would emit an error that ends the process.
    const lost = (error: Error) => {
      broken = true
      this.#logger.warn({ err: error }, 'postgres connection lost in a transaction')
    }
    client.on('error', lost)
    try {
      await client.query('BEGIN')
      const result = await fn(client)
      await client.query('COMMIT')
      return result
    } catch (error) {
      broken = isConnectionError(error)
      if (!broken) await client.query('ROLLBACK').catch(() => {})
      throw this.#wrap(error)
    } finally {
      client.off('error', lost)
      client.release(broken)
    }
  }

  /** available is false while the last call saw an outage. */
  get available(): boolean {
    return Date.now() >= this.#downUntil
  }

  async close(): Promise<void> {
    await this.pool.end()
  }

  #checkUp(): void {
    if (Date.now() < this.#downUntil)
      throw new TollgateError(ERROR_CODES.DATABASE_UNAVAILABLE, 'postgres is unavailable (recent outage)')
  }

  #wrap(error: unknown): Error {
    if (error instanceof TollgateError) return error
    if (isConnectionError(error)) {
      if (this.available) this.#logger.warn({ err: error }, 'postgres unavailable')
      this.#downUntil = Date.now() + this.#failFastMs
      return new TollgateError(ERROR_CODES.DATABASE_UNAVAILABLE, 'postgres is unavailable', { cause: error })
    }
    return error as Error
  }
}
