import { readFile } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TierTable } from '@tollgate/api'
import type { Logger } from 'pino'
import {
  type AnalyticsDeps,
  analyticsRoutes,
  answerFailure,
  guardedSources,
} from '../analytics/analytics-api.ts'
import { parseAnalyticsQuery } from '../analytics/analytics-query.ts'
import { tenantOverview } from '../analytics/tenant-overview.ts'
import { tenantReport } from '../analytics/tenant-report.ts'
import {
  DEFAULT_PROXY_HEADERS,
  type ProxyHeaders,
  proxyAuthentication,
} from '../auth/proxy-authentication.ts'
import { type Authenticate, accessUser, requireAccess } from '../auth/require-access.ts'
import { bearerToken } from '../auth/token-review.ts'
import { ERROR_CODES } from '../errors.ts'
import { type HttpServer, type Methods, type Route, send, startHttpServer } from '../runtime/http-server.ts'
import type { Ledger } from '../store/ledger.ts'
import { USAGE_PATH, usageAccess, usageApi } from '../usage/usage-api.ts'
import { feedPage } from './pages/feed-page.ts'
import { signInPage } from './pages/sign-in-page.ts'
import { tenantPage } from './pages/tenant-page.ts'
import { tenantsPage } from './pages/tenants-page.ts'
import { clearSession, cookieToken, readForm, setSession } from './session.ts'

/** ConsoleOptions are the console's port, how it authenticates, and what it reads. */
export interface ConsoleOptions extends AnalyticsDeps {
  listen: string
  auth: 'token' | 'proxy'
  proxyHeaders?: ProxyHeaders
  ledger: Ledger
  tiers: TierTable
  logger: Logger
}

const require = createRequire(import.meta.url)
/** STATIC are the files the pages load: the chart library from node_modules, the script, the styles. */
const STATIC: Record<string, { file: string; type: string }> = {
  'chart.umd.min.js': {
    // the package's exports name no UMD build: found beside its main file
    file: join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
  'console.js': {
    file: fileURLToPath(new URL('./static/console.js', import.meta.url)),
    type: 'text/javascript; charset=utf-8',
  },
  'console.css': {
    file: fileURLToPath(new URL('./static/console.css', import.meta.url)),
    type: 'text/css; charset=utf-8',
  },
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
}

const sendPage = (response: ServerResponse, status: number, body: string) => {
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  })
  response.end(body)
}

const redirect = (response: ServerResponse, location: string) => {
  response.writeHead(303, { location, 'cache-control': 'no-store' })
  response.end()
}

/** safeNext keeps a sign-in's return path on this console (no open redirect). */
const safeNext = (next: string | null | undefined) =>
  next && /^\/(?!\/)[\w\-./?=&%~+]*$/.test(next) ? next : '/tenants'

/**
 * startConsoleServer serves the web console on its own port: server-rendered pages (tenants,
 * tenant detail, live feed) with a small script and Chart.js, the analytics API and the usage
 * export for the pages' links and script, all behind the same requireAccess as the operator's
 * other HTTP surfaces. A user signs in with a bearer token (kept in an HttpOnly, SameSite=Strict
 * cookie and checked with a TokenReview at every request), or, with `auth: proxy`, is who the
 * authenticating proxy in front says. Every page and action is authorized with a
 * SubjectAccessReview for that user: a page shows only the tenants the user may `get`, the purge
 * button only to users who may `patch` the tenant, and the API checks again.
 */
export async function startConsoleServer(o: ConsoleOptions): Promise<HttpServer> {
  const tokenAuth: Authenticate = (request) =>
    o.access.authenticate(bearerToken(request.headers.authorization) ?? cookieToken(request))
  const authenticate =
    o.auth === 'proxy' ? proxyAuthentication(o.proxyHeaders ?? DEFAULT_PROXY_HEADERS, tokenAuth) : tokenAuth
  const s = guardedSources(o)
  const pageRefused = (response: ServerResponse, decision: { status: number; message: string }, url: URL) => {
    if (decision.status === 401)
      return sendPage(
        response,
        401,
        signInPage({
          next: url.pathname + url.search,
          proxy: o.auth === 'proxy',
          ...(url.pathname !== '/tenants' && { error: decision.message }),
        }),
      )
    sendPage(response, 403, signInPage({ error: decision.message, next: '/tenants' }))
  }
  const guardPage = (attributes: Parameters<typeof requireAccess>[1], route: Route) =>
    requireAccess(o.access, attributes, route, { authenticate, refused: pageRefused })
  const guardApi = (attributes: Parameters<typeof requireAccess>[1], route: Route) =>
    requireAccess(o.access, attributes, route, { authenticate })

  const signIn: Route = async (request, response) => {
    let form: URLSearchParams
    try {
      form = await readForm(request)
    } catch (error) {
      return sendPage(response, 400, signInPage({ error: (error as Error).message }))
    }
    const token = form.get('token')?.trim()
    const next = safeNext(form.get('next'))
    const decision = await o.access.authenticate(token)
    if (!decision.allowed || !token)
      return sendPage(
        response,
        401,
        signInPage({ error: decision.allowed ? 'a token is required' : decision.message, next }),
      )
    o.logger.info({ user: decision.user.username }, 'console sign-in')
    setSession(request, response, token)
    redirect(response, next)
  }

  const tenants: Route = async (request, response, url) => {
    const q = parseAnalyticsQuery(url)
    if ('invalid' in q) return sendPage(response, 400, signInPage({ error: q.invalid }))
    try {
      const user = accessUser(request)
      const visible = await s.kube(o.directory.visible(user))
      const rows = await tenantOverview(s, visible, q.from, q.to)
      sendPage(
        response,
        200,
        tenantsPage({ user: user.username, tenants: rows, day: q.from.toISOString().slice(0, 10) }),
      )
    } catch (error) {
      answerFailure(response, error)
    }
  }

  const tenant: Route = async (request, response, url) => {
    const name = decodeURIComponent(url.pathname.slice('/tenants/'.length))
    const user = accessUser(request)
    try {
      if (!(await s.kube(o.directory.may(user, 'get', name))))
        return sendPage(response, 403, signInPage({ error: `${user.username} may not get tenants/${name}` }))
      const found = await s.kube(o.directory.get(name))
      if (!found) return sendPage(response, 404, signInPage({ error: `no tenant ${name}` }))
      const q = parseAnalyticsQuery(url)
      if ('invalid' in q)
        return send(response, 400, { error: { code: ERROR_CODES.INVALID_REQUEST, message: q.invalid } })
      const [[summary], report, mayPurge] = await Promise.all([
        tenantOverview(s, [found], q.from, q.to),
        tenantReport(s, name, q.from, q.to, q.bucket, q.top),
        s.kube(o.directory.may(user, 'patch', name)),
      ])
      sendPage(
        response,
        200,
        tenantPage({
          user: user.username,
          summary: summary as NonNullable<typeof summary>,
          report,
          range: {
            from: url.searchParams.get('from') ?? '',
            to: url.searchParams.get('to') ?? '',
            bucket: q.bucket,
          },
          mayPurge,
        }),
      )
    } catch (error) {
      answerFailure(response, error)
    }
  }

  const feed: Route = async (request, response, url) => {
    const user = accessUser(request)
    try {
      const wanted = url.searchParams.get('tenant')
      const visible = (await s.kube(o.directory.visible(user))).map((t) => t.metadata.name)
      const names = wanted ? visible.filter((n) => n === wanted) : visible.slice(0, 20)
      if (wanted && names.length === 0)
        return sendPage(
          response,
          403,
          signInPage({ error: `${user.username} may not get tenants/${wanted}` }),
        )
      sendPage(response, 200, feedPage({ user: user.username, tenants: names }))
    } catch (error) {
      answerFailure(response, error)
    }
  }

  const staticFile: Route = async (_request, response, url) => {
    const entry = STATIC[url.pathname.slice('/static/'.length)]
    if (!entry) return send(response, 404, 'not found\n')
    const body = await readFile(entry.file)
    response.writeHead(200, {
      'content-type': entry.type,
      'content-length': body.length,
      'cache-control': 'public, max-age=3600',
      'x-content-type-options': 'nosniff',
    })
    response.end(body)
  }

  // The page script's POSTs carry x-tollgate-console: a header no cross-site form can send, on
  // top of the SameSite=Strict cookie, so no other page can make the browser purge.
  const api = analyticsRoutes({ ...o, authenticate })
  const purgePath = Object.keys(api).find((p) => p.endsWith('/purge')) as string
  const purge = (api[purgePath] as Methods).POST as Route
  api[purgePath] = {
    POST: async (request, response, url) => {
      if (request.headers['x-tollgate-console'] !== '1' && !request.headers.authorization)
        return send(response, 403, {
          error: { code: ERROR_CODES.FORBIDDEN, message: 'the console sends purges with its own header' },
        })
      return purge(request, response, url)
    },
  }

  const routes: Record<string, Route | Methods> = {
    '/': (request, response) =>
      redirect(response, cookieToken(request) || o.auth === 'proxy' ? '/tenants' : '/sign-in'),
    '/sign-in': {
      GET: (_request, response, url) =>
        sendPage(
          response,
          200,
          signInPage({ next: safeNext(url.searchParams.get('next')), proxy: o.auth === 'proxy' }),
        ),
      POST: signIn,
    },
    '/sign-out': {
      POST: (_request, response) => {
        clearSession(response)
        redirect(response, '/sign-in')
      },
    },
    '/tenants': guardPage(() => ({ authenticated: true }), tenants),
    '/tenants/*': guardPage(() => ({ authenticated: true }), tenant),
    '/feed': guardPage(() => ({ authenticated: true }), feed),
    '/static/*': staticFile,
    [USAGE_PATH]: guardApi(usageAccess, usageApi(o.ledger)),
    ...api,
  }
  const server = await startHttpServer(o.listen, routes)
  o.logger.info({ url: server.url, auth: o.auth }, 'console listening')
  return server
}
