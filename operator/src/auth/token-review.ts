import type { AuthenticationV1Api } from '@kubernetes/client-node'

/** ReviewedUser is who the API server says a token belongs to. */
export interface ReviewedUser {
  username: string
  uid?: string
  groups: string[]
  extra: Record<string, string[]>
}

/**
 * reviewToken asks the API server (TokenReview) whom a bearer token belongs to. With `audience`
 * the token must carry that audience, and the answer must say so: an authenticator that ignores
 * audiences would otherwise accept a token minted for something else. undefined: not valid.
 */
export async function reviewToken(
  api: AuthenticationV1Api,
  token: string,
  audience?: string,
): Promise<ReviewedUser | undefined> {
  const review = await api.createTokenReview({
    body: {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, ...(audience && { audiences: [audience] }) },
    },
  })
  const status = review.status
  if (!status?.authenticated || !status.user?.username) return undefined
  if (audience && !status.audiences?.includes(audience)) return undefined
  return {
    username: status.user.username,
    ...(status.user.uid && { uid: status.user.uid }),
    groups: status.user.groups ?? [],
    extra: status.user.extra ?? {},
  }
}

/** bearerToken takes the token out of an `authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +([^\s]+)\s*$/i.exec(header ?? '')
  return match?.[1]
}
