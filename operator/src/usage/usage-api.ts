import type { Route } from '../runtime/http-server.ts'
import { send } from '../runtime/http-server.ts'
import type { Ledger } from '../store/ledger.ts'
import { parseRange, toCsv } from './usage-export.ts'

/**
 * usageApi serves `GET /api/v1/usage?tenant=T&from=&to=&format=json|csv`: the tenant's ledger
 * rows over [from, to). JSON is `{ tenant, from, to, rows: [...] }`.
 */
export function usageApi(ledger: Ledger): Route {
  return async (_request, response, url) => {
    const tenant = url.searchParams.get('tenant')
    if (!tenant) return send(response, 400, { error: 'tenant is required' })
    let range: { from: Date; to: Date }
    try {
      range = parseRange(url.searchParams.get('from') ?? undefined, url.searchParams.get('to') ?? undefined)
    } catch (error) {
      return send(response, 400, { error: (error as Error).message })
    }
    const format = url.searchParams.get('format') ?? 'json'
    if (format !== 'json' && format !== 'csv') return send(response, 400, { error: 'format is json or csv' })
    let rows: Awaited<ReturnType<Ledger['records']>>
    try {
      rows = await ledger.records(tenant, range.from, range.to)
    } catch (error) {
      return send(response, 503, { error: `ledger unavailable: ${(error as Error).message}` })
    }
    if (format === 'csv') return send(response, 200, toCsv(rows), 'text/csv; charset=utf-8')
    send(response, 200, { tenant, from: range.from.toISOString(), to: range.to.toISOString(), rows })
  }
}
