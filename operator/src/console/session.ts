import type { IncomingMessage, ServerResponse } from 'node:http'

/** SESSION_COOKIE holds the signed-in user's bearer token (HttpOnly: no page script reads it). */
export const SESSION_COOKIE = 'tollgate_session'
/** How long the browser keeps the cookie; the token's own expiry still applies at each request. */
const SESSION_MAX_AGE_S = 8 * 3600

/** cookieToken is the token of the session cookie, if any. */
export function cookieToken(request: IncomingMessage): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=')
    if (name === SESSION_COOKIE) {
      const value = decodeURIComponent(rest.join('='))
      return value || undefined
    }
  }
  return undefined
}

/**
 * setSession stores the token in the cookie: HttpOnly, SameSite=Strict (no other site's page can
 * send it, so no cross-site request acts as the user), Secure when the console is reached over
 * https (a proxy that says so in x-forwarded-proto).
 */
export function setSession(request: IncomingMessage, response: ServerResponse, token: string): void {
  const secure = request.headers['x-forwarded-proto'] === 'https' ? '; Secure' : ''
  response.setHeader(
    'set-cookie',
    `${SESSION_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MAX_AGE_S}${secure}`,
  )
}

/** clearSession removes the cookie. */
export function clearSession(response: ServerResponse): void {
  response.setHeader('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`)
}

/** readForm reads a small urlencoded form body (the sign-in); at most 64 KiB. */
export async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request) {
    size += (chunk as Buffer).length
    if (size > 65_536) throw new Error('form too large')
    chunks.push(chunk as Buffer)
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}
