import { LEDGER_COLUMNS, type LedgerRecord } from '../store/ledger.ts'

/** CSV_COLUMNS are the export's columns, in order (snake_case like the ledger). */
export const CSV_COLUMNS: [keyof LedgerRecord | 'cost_usd', string][] = [
  ['tenant', 'tenant'],
  ['hour', 'hour'],
  ['provider', 'provider'],
  ['model', 'model'],
  ['namespace', 'namespace'],
  ['workload', 'workload'],
  ['user', 'user'],
  ...LEDGER_COLUMNS,
]

const quote = (value: string | number) => {
  const text = String(value)
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** toCsv renders ledger rows as RFC 4180 CSV with a header line. */
export function toCsv(records: LedgerRecord[]): string {
  const lines = [CSV_COLUMNS.map(([, header]) => header).join(',')]
  for (const record of records) {
    lines.push(CSV_COLUMNS.map(([field]) => quote(record[field as keyof LedgerRecord])).join(','))
  }
  return `${lines.join('\r\n')}\r\n`
}

/**
 * parseRange reads `from` and `to` (RFC 3339 times or `YYYY-MM-DD` dates, UTC). Defaults: from
 * the start of the current UTC day to now. `to` is exclusive; rows are whole UTC hours.
 */
export function parseRange(from: string | undefined, to: string | undefined, now = new Date()) {
  const parse = (text: string, name: string) => {
    const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text)
    if (Number.isNaN(ms))
      throw new Error(`invalid ${name} ${JSON.stringify(text)}: expected a date or RFC 3339 time`)
    return new Date(ms)
  }
  const start = from
    ? parse(from, 'from')
    : new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()))
  const end = to ? parse(to, 'to') : now
  if (end.getTime() <= start.getTime()) throw new Error('to must be after from')
  return { from: start, to: end }
}
