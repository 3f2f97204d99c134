import type { AuthenticationV1Api, AuthorizationV1Api } from '@kubernetes/client-node'
import { ERROR_CODES, type ErrorCode } from '../errors.ts'
import { type ReviewedUser, reviewToken } from './token-review.ts'

/** AccessAttributes is what a caller must be allowed: a verb on an object, or on a URL path. */
export type AccessAttributes =
  | { resource: { group: string; resource: string; verb: string; name?: string; namespace?: string } }
  | { path: string; verb: string }

/** AccessDecision is allowed (with the user), or the HTTP status and error to answer with. */
export type AccessDecision =
  | { allowed: true; user: ReviewedUser }
  | { allowed: false; status: 401 | 403; code: ErrorCode; message: string }

/**
 * AccessReview puts the API server's own authentication and authorization in front of an HTTP
 * surface, as kube-rbac-proxy does: the bearer token is checked with a TokenReview, the right with
 * a SubjectAccessReview for the user, groups and extra the review returned. So whoever may `get`
 * `tenants/acme` may read acme's usage, and nobody else, with the cluster's RBAC as the only policy.
 */
export class AccessReview {
  readonly #authn: AuthenticationV1Api
  readonly #authz: AuthorizationV1Api

  constructor(authn: AuthenticationV1Api, authz: AuthorizationV1Api) {
    this.#authn = authn
    this.#authz = authz
  }

  /** authenticate: 401 without a token the API server accepts. */
  async authenticate(token: string | undefined): Promise<AccessDecision> {
    const user = token ? await reviewToken(this.#authn, token) : undefined
    if (!user)
      return {
        allowed: false,
        status: 401,
        code: ERROR_CODES.UNAUTHENTICATED,
        message: token ? 'the bearer token is not valid' : 'a bearer token is required',
      }
    return { allowed: true, user }
  }

  /** authorize: 403 unless RBAC lets the user do what the attributes say. */
  async authorize(user: ReviewedUser, attributes: AccessAttributes): Promise<AccessDecision> {
    const review = await this.#authz.createSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: user.username,
          groups: user.groups,
          extra: user.extra,
          ...(user.uid && { uid: user.uid }),
          ...('resource' in attributes
            ? { resourceAttributes: attributes.resource }
            : { nonResourceAttributes: { path: attributes.path, verb: attributes.verb } }),
        },
      },
    })
    if (review.status?.allowed) return { allowed: true, user }
    return {
      allowed: false,
      status: 403,
      code: ERROR_CODES.FORBIDDEN,
      message: `${user.username} may not ${describe(attributes)}`,
    }
  }
}

function describe(a: AccessAttributes): string {
  if (!('resource' in a)) return `${a.verb} ${a.path}`
  const r = a.resource
  return `${r.verb} ${r.resource}${r.name ? `/${r.name}` : ''} (group ${r.group || 'core'})`
}
