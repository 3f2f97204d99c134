import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { runner } from 'node-pg-migrate'
import pg from 'pg'
import type { Logger } from 'pino'
import { ERROR_CODES, TollgateError } from '../errors.ts'

/** MIGRATIONS_DIR holds the versioned SQL migrations (`<timestamp>_<name>.sql`). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url))
export const MIGRATIONS_TABLE = 'pgmigrations'
/** Advisory lock key held while migrating, so replicas starting together migrate once. */
export const MIGRATION_LOCK = 7_263_011_584_001

export interface MigrateOptions {
  url: string
  direction: 'up' | 'down'
  /** How many to run; all pending for up, one for down when left out. */
  count?: number
  logger: Logger
}

/**
 * migrate runs migrations with node-pg-migrate under a Postgres advisory lock (waiting for a
 * replica that holds it), each migration in its own transaction. Returns the names run.
 */
export async function migrate(options: MigrateOptions): Promise<string[]> {
  const { logger } = options
  try {
    const ran = await runner({
      databaseUrl: options.url,
      dir: MIGRATIONS_DIR,
      migrationsTable: MIGRATIONS_TABLE,
      direction: options.direction,
      count: options.count ?? (options.direction === 'up' ? Number.POSITIVE_INFINITY : 1),
      lockValue: MIGRATION_LOCK,
      advisoryLockMode: 'wait',
      checkOrder: true,
      logger: {
        debug: () => {},
        info: (message: string) => logger.debug({ migrate: message.trim() }),
        warn: (message: string) => logger.warn({ migrate: message.trim() }),
        error: (message: string) => logger.error({ migrate: message.trim() }),
      },
    })
    return ran.map((m) => m.name)
  } catch (cause) {
    throw new TollgateError(ERROR_CODES.MIGRATION, `migrate ${options.direction}`, { cause })
  }
}

/** MigrationStatus lists every migration file and whether it has run. */
export interface MigrationStatus {
  name: string
  appliedAt?: Date
}

/** migrationFiles are the migration names in order. */
export function migrationFiles(): string[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => file.slice(0, -'.sql'.length))
    .sort()
}

/** migrationStatus reads which migrations have run. */
export async function migrationStatus(url: string): Promise<MigrationStatus[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 })
  await client.connect()
  try {
    const exists = await client.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [MIGRATIONS_TABLE])
    const applied = new Map<string, Date>()
    if (exists.rows[0]?.ok) {
      const rows = await client.query<{ name: string; run_on: Date }>(
        `SELECT name, run_on FROM ${MIGRATIONS_TABLE} ORDER BY run_on, id`,
      )
      for (const row of rows.rows) applied.set(row.name, row.run_on)
    }
    const names = [...new Set([...migrationFiles(), ...applied.keys()])].sort()
    return names.map((name) => ({ name, ...(applied.has(name) && { appliedAt: applied.get(name) }) }))
  } finally {
    await client.end()
  }
}
