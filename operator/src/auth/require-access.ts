import type { IncomingMessage } from 'node:http'
import { ERROR_CODES } from '../errors.ts'
import { type Route, send } from '../runtime/http-server.ts'
import type { AccessAttributes, AccessReview } from './access-review.ts'
import { bearerToken } from './token-review.ts'

/**
 * requireAccess wraps a route: no valid bearer token is a 401, a token whose user may not do what
 * `attributes` says is a 403, and only then does the route run. `attributes` may answer with a
 * message instead (a request it cannot judge, e.g. without its tenant): that is a 400, sent after
 * authentication so that anonymous callers learn nothing about the API.
 */
export function requireAccess(
  review: AccessReview,
  attributes: (url: URL) => AccessAttributes | { invalid: string },
  route: Route,
): Route {
  return async (request: IncomingMessage, response, url) => {
    const authn = await review.authenticate(bearerToken(request.headers.authorization))
    if (!authn.allowed) return refuse(response, authn)
    const wanted = attributes(url)
    if ('invalid' in wanted)
      return send(response, 400, { error: { code: ERROR_CODES.INVALID_REQUEST, message: wanted.invalid } })
    const authz = await review.authorize(authn.user, wanted)
    if (!authz.allowed) return refuse(response, authz)
    return route(request, response, url)
  }
}

function refuse(
  response: Parameters<Route>[1],
  decision: { status: number; code: string; message: string },
): void {
  if (decision.status === 401) response.setHeader('www-authenticate', 'Bearer realm="tollgate-operator"')
  send(response, decision.status, { error: { code: decision.code, message: decision.message } })
}
