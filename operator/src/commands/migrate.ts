import type { Logger } from 'pino'
import type { MigrateConfig } from '../cli.ts'
import { migrate, migrationStatus } from '../store/migrate.ts'

/** runMigrate runs `migrate up|down|status` and prints one line per migration. */
export async function runMigrate(config: MigrateConfig, logger: Logger, out: (line: string) => void) {
  if (config.action === 'status') {
    for (const m of await migrationStatus(config.databaseUrl))
      out(
        `${m.appliedAt ? 'applied' : 'pending'}\t${m.name}${m.appliedAt ? `\t${m.appliedAt.toISOString()}` : ''}`,
      )
    return
  }
  const ran = await migrate({ url: config.databaseUrl, direction: config.action, logger })
  if (ran.length === 0) out(`nothing to migrate ${config.action}`)
  for (const name of ran) out(`${config.action === 'up' ? 'applied' : 'reverted'}\t${name}`)
}
