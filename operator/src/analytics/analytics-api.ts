import type { IncomingMessage, ServerResponse } from 'node:http'
import { GROUP } from '@tollgate/api'
import type { AccessReview } from '../auth/access-review.ts'
import { type Authenticate, accessUser, requireAccess, type Wanted } from '../auth/require-access.ts'
import { ERROR_CODES, type ErrorCode, TollgateError } from '../errors.ts'
import { type Methods, type Route, send } from '../runtime/http-server.ts'
import { type AnalyticsQuery, parseAnalyticsQuery } from './analytics-query.ts'
import type { AnalyticsStore } from './analytics-store.ts'
import { withDeadline } from './deadline.ts'
import { streamFeed } from './feed-stream.ts'
import type { LiveState } from './live-state.ts'
import type { RefusalStore } from './refusal-store.ts'
import type { TenantDirectory } from './tenant-directory.ts'
import { tenantOverview } from './tenant-overview.ts'
import { tenantReport } from './tenant-report.ts'

/** ANALYTICS_PATH is the prefix of the analytics API. */
export const ANALYTICS_PATH = '/api/v1/analytics'

/** How long a store may take before the API answers 503. */
export const STORE_DEADLINE_MS = 5_000

/** AnalyticsDeps are what the analytics API reads and who it asks. */
export interface AnalyticsDeps {
  access: AccessReview
  /** Default: the bearer token (TokenReview). */
  authenticate?: Authenticate
  analytics: AnalyticsStore
  refusals: RefusalStore
  live: LiveState
  directory: TenantDirectory
}

const fail = (message: string, code: string = ERROR_CODES.INVALID_REQUEST) => ({ error: { code, message } })

/** tenantAccess is `get` on `tenants/<T>`, the usage API's right; 400 without a tenant. */
export const tenantAccess =
  (verb: 'get' | 'patch') =>
  (url: URL): Wanted => {
    const tenant = url.searchParams.get('tenant')
    if (!tenant) return { invalid: 'tenant is required' }
    return { resource: { group: GROUP, resource: 'tenants', verb, name: tenant } }
  }

/** answerFailure turns a store's failure into a 503 with its code, anything else into a 500. */
export function answerFailure(response: ServerResponse, error: unknown): void {
  if (response.headersSent) {
    response.destroy()
    return
  }
  const code = error instanceof TollgateError ? error.code : undefined
  const unavailable: ErrorCode[] = [
    ERROR_CODES.DATABASE_UNAVAILABLE,
    ERROR_CODES.REDIS_UNAVAILABLE,
    ERROR_CODES.KUBE_API,
  ]
  if (code && unavailable.includes(code)) send(response, 503, fail((error as Error).message, code))
  else send(response, 500, fail((error as Error).message, 'TOLLGATE_ERR_INTERNAL'))
}

const postgres = <T>(work: Promise<T>) =>
  withDeadline(work, STORE_DEADLINE_MS, ERROR_CODES.DATABASE_UNAVAILABLE, 'ledger unavailable')
const redis = <T>(work: Promise<T>) =>
  withDeadline(work, STORE_DEADLINE_MS, ERROR_CODES.REDIS_UNAVAILABLE, 'Redis unavailable')
const kube = <T>(work: Promise<T>) =>
  withDeadline(work, STORE_DEADLINE_MS, ERROR_CODES.KUBE_API, 'API server unavailable')

/** withQuery validates the query string (400) before a route runs. */
const withQuery =
  (route: (q: AnalyticsQuery, request: IncomingMessage, response: ServerResponse) => Promise<void>): Route =>
  async (request, response, url) => {
    const q = parseAnalyticsQuery(url)
    if ('invalid' in q) return send(response, 400, fail(q.invalid))
    try {
      await route(q, request, response)
    } catch (error) {
      answerFailure(response, error)
    }
  }

/** reportSources wraps each store with its deadline. */
export const guardedSources = (d: AnalyticsDeps) => ({
  analytics: {
    summary: (...a: Parameters<AnalyticsStore['summary']>) => postgres(d.analytics.summary(...a)),
    grouped: (...a: Parameters<AnalyticsStore['grouped']>) => postgres(d.analytics.grouped(...a)),
    series: (...a: Parameters<AnalyticsStore['series']>) => postgres(d.analytics.series(...a)),
  } as unknown as AnalyticsStore,
  refusals: {
    byLimit: (...a: Parameters<RefusalStore['byLimit']>) => postgres(d.refusals.byLimit(...a)),
    recent: (...a: Parameters<RefusalStore['recent']>) => postgres(d.refusals.recent(...a)),
  } as unknown as RefusalStore,
  live: {
    heartbeats: (...a: Parameters<LiveState['heartbeats']>) => redis(d.live.heartbeats(...a)),
  } as unknown as LiveState,
  directory: d.directory,
  kube,
})

/**
 * analyticsRoutes is the analytics API, each route behind requireAccess (TokenReview, then
 * SubjectAccessReview with the cluster's RBAC as the only policy):
 * - `GET /api/v1/analytics/tenant?tenant=T&from&to&bucket&top`: the TenantReport (get tenants/T);
 * - `GET /api/v1/analytics/series?tenant=T&by=model&bucket`: spend per bucket and value (get);
 * - `GET /api/v1/analytics/top?by=tenant|model|...&top=N[&tenant=T]`: the largest spenders among
 *   the tenants the caller may read (all of them without `tenant`);
 * - `GET /api/v1/analytics/tenants`: the tenants overview (the caller's tenants);
 * - `GET /api/v1/analytics/feed?tenant=T`: the live feed as Server-Sent Events (get);
 * - `POST /api/v1/analytics/purge?tenant=T`: purge the tenant's cache, if the caller may `patch`
 *   the Tenant (SubjectAccessReview; the operator writes the annotation).
 */
export function analyticsRoutes(d: AnalyticsDeps): Record<string, Route | Methods> {
  const s = guardedSources(d)
  const guard = (attributes: (url: URL) => Wanted, route: Route) =>
    requireAccess(d.access, attributes, route, d.authenticate ? { authenticate: d.authenticate } : {})
  const visibleNames = async (request: IncomingMessage, tenant: string | undefined) => {
    if (tenant) return [tenant]
    return (await kube(d.directory.visible(accessUser(request)))).map((t) => t.metadata.name)
  }
  return {
    [`${ANALYTICS_PATH}/tenant`]: guard(
      tenantAccess('get'),
      withQuery(async (q, _request, response) => {
        send(response, 200, await tenantReport(s, q.tenant as string, q.from, q.to, q.bucket, q.top))
      }),
    ),
    [`${ANALYTICS_PATH}/series`]: guard(
      tenantAccess('get'),
      withQuery(async (q, _request, response) => {
        const range = { tenants: [q.tenant as string], from: q.from, to: q.to }
        const points = await s.analytics.series(range, q.bucket, q.by)
        send(response, 200, { tenant: q.tenant, bucket: q.bucket, by: q.by ?? null, points })
      }),
    ),
    [`${ANALYTICS_PATH}/top`]: guard(
      (url) => (url.searchParams.get('tenant') ? tenantAccess('get')(url) : { authenticated: true }),
      withQuery(async (q, request, response) => {
        if (!q.by) return send(response, 400, fail('by is required'))
        const tenants = await visibleNames(request, q.tenant)
        const rows = await s.analytics.grouped({ tenants, from: q.from, to: q.to }, q.by, q.top)
        send(response, 200, { by: q.by, from: q.from.toISOString(), to: q.to.toISOString(), rows })
      }),
    ),
    [`${ANALYTICS_PATH}/tenants`]: guard(
      () => ({ authenticated: true }),
      withQuery(async (q, request, response) => {
        const tenants = await kube(d.directory.visible(accessUser(request)))
        send(response, 200, { tenants: await tenantOverview(s, tenants, q.from, q.to) })
      }),
    ),
    [`${ANALYTICS_PATH}/feed`]: guard(tenantAccess('get'), async (request, response, url) => {
      try {
        await streamFeed(d.live, url.searchParams.get('tenant') as string, response, {
          lastEventId: request.headers['last-event-id'] as string | undefined,
        })
      } catch (error) {
        answerFailure(
          response,
          new TollgateError(ERROR_CODES.REDIS_UNAVAILABLE, `Redis unavailable: ${(error as Error).message}`),
        )
      }
    }),
    [`${ANALYTICS_PATH}/purge`]: {
      POST: guard(tenantAccess('patch'), async (request, response, url) => {
        const tenant = url.searchParams.get('tenant') as string
        try {
          if (!(await kube(d.directory.get(tenant))))
            return send(response, 404, fail(`tenant ${tenant} not found`, 'TOLLGATE_ERR_NOT_FOUND'))
          const value = await kube(d.directory.purgeCache(tenant, accessUser(request)))
          send(response, 200, { tenant, purged: value })
        } catch (error) {
          answerFailure(response, error)
        }
      }),
    },
  }
}
