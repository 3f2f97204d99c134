import { nanoToUsd } from '@tollgate/api'
import type { LedgerRecord } from '../store/ledger.ts'
import type { ConsoleClient } from './console-client.ts'
import { table } from './table.ts'

/** USAGE_FILTERS are the export's filters the usage command passes on. */
export const USAGE_FILTERS = ['from', 'to', 'provider', 'model', 'namespace', 'workload', 'user'] as const

/**
 * usageCommand prints a tenant's ledger rows, filtered as the export is (from, to, provider, model,
 * namespace, workload, user): a table with a total line, or the export itself (`-o csv|json`).
 */
export async function usageCommand(
  client: ConsoleClient,
  tenant: string,
  filters: Partial<Record<(typeof USAGE_FILTERS)[number], string>>,
  output: 'table' | 'csv' | 'json',
): Promise<string> {
  const query = new URLSearchParams({ tenant })
  for (const [k, v] of Object.entries(filters)) if (v !== undefined) query.set(k, v)
  if (output !== 'table') {
    query.set('format', output)
    return (await client.request(`/api/v1/usage?${query}`)).text()
  }
  const { rows, from, to } = await client.json<{ rows: LedgerRecord[]; from: string; to: string }>(
    `/api/v1/usage?${query}`,
  )
  const total = rows.reduce(
    (t, r) => ({
      requests: t.requests + r.requests,
      inputTokens: t.inputTokens + r.inputTokens,
      outputTokens: t.outputTokens + r.outputTokens,
      costNano: t.costNano + r.costNano,
    }),
    { requests: 0, inputTokens: 0, outputTokens: 0, costNano: 0 },
  )
  const body = table(
    [
      'hour',
      'provider',
      'model',
      'namespace',
      'workload',
      'user',
      'calls',
      'tokens in',
      'tokens out',
      'cost usd',
    ],
    [
      ...rows.map((r) => [
        r.hour.slice(0, 13).replace('T', ' '),
        r.provider,
        r.model,
        r.namespace,
        r.workload || '-',
        r.user || '-',
        r.requests,
        r.inputTokens,
        r.outputTokens,
        nanoToUsd(r.costNano),
      ]),
      [
        'TOTAL',
        '',
        '',
        '',
        '',
        '',
        total.requests,
        total.inputTokens,
        total.outputTokens,
        nanoToUsd(total.costNano),
      ],
    ],
  )
  return `Usage of tenant ${tenant} from ${from} to ${to}\n${body}`
}
