import { ERROR_CODES } from '../errors.ts'
import type { Authenticate } from './require-access.ts'

/** ProxyHeaders name the headers an authenticating proxy puts the signed-in user in. */
export interface ProxyHeaders {
  user: string
  groups: string
}

/** DEFAULT_PROXY_HEADERS are oauth2-proxy's (`--set-xauthrequest`, `--pass-user-headers`). */
export const DEFAULT_PROXY_HEADERS: ProxyHeaders = { user: 'x-forwarded-user', groups: 'x-forwarded-groups' }

/**
 * proxyAuthentication takes the user from the headers of an authenticating proxy in front of the
 * console (chart `console.authProxy`), as the API server's request-header authenticator does; what
 * that user may do is still decided by SubjectAccessReview. It trusts whoever can reach the port:
 * the chart then lets only the proxy's pods in (NetworkPolicy), and a request without the user
 * header is a 401. A bearer token, when present, is checked instead (kubectl tollgate).
 */
export function proxyAuthentication(headers: ProxyHeaders, bearer: Authenticate): Authenticate {
  return async (request) => {
    if (request.headers.authorization) return bearer(request)
    const user = request.headers[headers.user]
    const username = Array.isArray(user) ? user[0] : user
    if (!username)
      return {
        allowed: false,
        status: 401,
        code: ERROR_CODES.UNAUTHENTICATED,
        message: `the authenticating proxy sent no ${headers.user} header`,
      }
    const raw = request.headers[headers.groups]
    const groups = (Array.isArray(raw) ? raw.join(',') : (raw ?? ''))
      .split(',')
      .map((g) => g.trim())
      .filter(Boolean)
    return { allowed: true, user: { username, groups: [...groups, 'system:authenticated'], extra: {} } }
  }
}
