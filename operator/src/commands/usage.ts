import type { Logger } from 'pino'
import type { UsageConfig } from '../cli.ts'
import { Db } from '../store/db.ts'
import { Ledger } from '../store/ledger.ts'
import { parseRange, toCsv } from '../usage/usage-export.ts'

/** runUsage prints a tenant's ledger rows over a range as CSV or JSON. */
export async function runUsage(config: UsageConfig, logger: Logger, out: (text: string) => void) {
  const range = parseRange(config.from, config.to)
  const db = new Db({ url: config.databaseUrl, logger, max: 1 })
  try {
    const rows = await new Ledger(db).records(config.tenant, range.from, range.to)
    if (config.format === 'csv') out(toCsv(rows))
    else
      out(
        `${JSON.stringify({ tenant: config.tenant, from: range.from.toISOString(), to: range.to.toISOString(), rows }, null, 2)}\n`,
      )
  } finally {
    await db.close()
  }
}
