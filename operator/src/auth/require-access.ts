import type { IncomingMessage } from 'node:http'
import { ERROR_CODES } from '../errors.ts'
import { type Route, send } from '../runtime/http-server.ts'
import type { AccessAttributes, AccessDecision, AccessReview } from './access-review.ts'
import { bearerToken, type ReviewedUser } from './token-review.ts'

/** Authenticate finds who sent a request (a TokenReview of its bearer token, by default). */
export type Authenticate = (request: IncomingMessage) => Promise<AccessDecision>

/** Wanted is what a request needs: attributes to authorize, none beyond sign-in, or a 400. */
export type Wanted = AccessAttributes | { authenticated: true } | { invalid: string }

/** bearerAuthentication checks the request's `authorization: Bearer` token with a TokenReview. */
export const bearerAuthentication =
  (review: AccessReview): Authenticate =>
  (request) =>
    review.authenticate(bearerToken(request.headers.authorization))

const users = new WeakMap<IncomingMessage, ReviewedUser>()

/** accessUser is the user requireAccess let through for a request (the route's caller). */
export const accessUser = (request: IncomingMessage): ReviewedUser => {
  const user = users.get(request)
  if (!user) throw new Error('accessUser: the route is not behind requireAccess')
  return user
}

/**
 * requireAccess wraps a route: no valid bearer token is a 401, a token whose user may not do what
 * `attributes` says is a 403, and only then does the route run (accessUser tells it who called).
 * `attributes` may answer with a message instead (a request it cannot judge, e.g. without its
 * tenant): that is a 400, sent after authentication so that anonymous callers learn nothing about
 * the API; or with `authenticated` for routes that authorize per item themselves (the console's
 * tenant list). `authenticate` replaces the bearer token check (the console's session cookie, an
 * authenticating proxy); `refused` replaces the JSON refusal (the console's pages).
 */
export function requireAccess(
  review: AccessReview,
  attributes: (url: URL) => Wanted,
  route: Route,
  options: { authenticate?: Authenticate; refused?: RefusedHandler } = {},
): Route {
  const authenticate = options.authenticate ?? bearerAuthentication(review)
  const refused = options.refused ?? refuse
  return async (request: IncomingMessage, response, url) => {
    const authn = await authenticate(request)
    if (!authn.allowed) return refused(response, authn, url)
    const wanted = attributes(url)
    if ('invalid' in wanted)
      return send(response, 400, { error: { code: ERROR_CODES.INVALID_REQUEST, message: wanted.invalid } })
    if (!('authenticated' in wanted)) {
      const authz = await review.authorize(authn.user, wanted)
      if (!authz.allowed) return refused(response, authz, url)
    }
    users.set(request, authn.user)
    return route(request, response, url)
  }
}

/** RefusedHandler answers a 401 or 403. */
export type RefusedHandler = (
  response: Parameters<Route>[1],
  decision: { status: number; code: string; message: string },
  url: URL,
) => void

function refuse(
  response: Parameters<Route>[1],
  decision: { status: number; code: string; message: string },
): void {
  if (decision.status === 401) response.setHeader('www-authenticate', 'Bearer realm="tollgate-operator"')
  send(response, decision.status, { error: { code: decision.code, message: decision.message } })
}
