import { ERROR_CODES } from '../errors.ts'
import type { Route } from '../runtime/http-server.ts'
import { send } from '../runtime/http-server.ts'
import { FILTER_COLUMNS, type Ledger, type RecordFilter } from '../store/ledger.ts'
import { parseRange, toCsv } from './usage-export.ts'

/** USAGE_PATH is where the usage API is served. */
export const USAGE_PATH = '/api/v1/usage'

/**
 * usageAccess is what a caller must be allowed to read a tenant's usage: `get` on `tenants/<T>`
 * in group tollgate.dev, the right that also shows the tenant's status (spend included).
 */
export const usageAccess = (url: URL) => {
  const tenant = url.searchParams.get('tenant')
  if (!tenant) return { invalid: 'tenant is required' }
  return { resource: { group: 'tollgate.dev', resource: 'tenants', verb: 'get', name: tenant } }
}

const fail = (message: string, code: string = ERROR_CODES.INVALID_REQUEST) => ({ error: { code, message } })

/**
 * usageApi serves `GET /api/v1/usage?tenant=T&from=&to=&format=json|csv`: the tenant's ledger
 * rows over [from, to), narrowed to the rows whose `provider`, `model`, `namespace`, `workload`
 * or `user` equal those given. JSON is `{ tenant, from, to, rows: [...] }`. It trusts its caller:
 * operator.ts puts it behind requireAccess with usageAccess.
 */
export function usageApi(ledger: Ledger): Route {
  return async (_request, response, url) => {
    const tenant = url.searchParams.get('tenant')
    if (!tenant) return send(response, 400, fail('tenant is required'))
    let range: { from: Date; to: Date }
    try {
      range = parseRange(url.searchParams.get('from') ?? undefined, url.searchParams.get('to') ?? undefined)
    } catch (error) {
      return send(response, 400, fail((error as Error).message))
    }
    const format = url.searchParams.get('format') ?? 'json'
    if (format !== 'json' && format !== 'csv') return send(response, 400, fail('format is json or csv'))
    let rows: Awaited<ReturnType<Ledger['records']>>
    try {
      const filter: RecordFilter = {}
      for (const dim of Object.keys(FILTER_COLUMNS) as (keyof RecordFilter)[]) {
        const value = url.searchParams.get(dim)
        if (value !== null) filter[dim] = value
      }
      rows = await ledger.records(tenant, range.from, range.to, filter)
    } catch (error) {
      return send(
        response,
        503,
        fail(`ledger unavailable: ${(error as Error).message}`, ERROR_CODES.DATABASE_UNAVAILABLE),
      )
    }
    if (format === 'csv') return send(response, 200, toCsv(rows), 'text/csv; charset=utf-8')
    send(response, 200, { tenant, from: range.from.toISOString(), to: range.to.toISOString(), rows })
  }
}
