import { createHash, type Hash, hash } from 'node:crypto'
import { writeCanonicalJson } from './canonical-json.ts'

/**
 * KEY_HEADERS are the request headers that change a provider's answer and so are part of the
 * key. Authorization is not: the tenant is the identity, and apps hold a placeholder key.
 */
export const KEY_HEADERS = ['anthropic-version', 'anthropic-beta', 'openai-beta'] as const

/** Canonical JSON past this many characters is hashed piece by piece. */
const FLUSH_AT = 64 * 1024

export interface CacheKeyInput {
  tenant: string
  /** CompiledCache.generation: bumping it purges the tenant's cache at once. */
  generation: number
  /** Provider name (route prefix). */
  provider: string
  method: string
  /** Path and query as sent upstream, without the provider prefix: `/v1/chat/completions`. */
  route: string
  headers: Readonly<Record<string, string | string[] | undefined>>
  /** The raw request body. */
  body: Buffer
  /**
   * The body as the body stage parsed it (within its JSON limits); absent for a body that is not
   * JSON, which is then hashed as bytes. The key never parses a body itself: only a body held to
   * the limits is walked.
   */
  json?: unknown
  /**
   * What else makes the bytes sent differ for an equal body. The sidecar asks OpenAI streams for
   * `include_usage` and cuts the extra chunk out unless the client asked for it; a body with
   * `stream_options: {}` is then rewritten to look like one that asked, so the stage passes
   * `strip-usage` here to keep the two answers apart.
   */
  variant?: string
}

/**
 * cacheDigest is the sha256 (hex) of everything that determines the answer: tenant, cache
 * generation, provider, method, route, KEY_HEADERS and the body in canonical JSON (raw bytes when
 * it is not JSON). Every field of the body counts, `stream` and `user` included: a streamed and
 * a plain answer are different bytes, and apps that set `user` may rely on per-user answers.
 */
export function cacheDigest(input: CacheKeyInput): string {
  const headers = KEY_HEADERS.map((name) => {
    const value = input.headers[name]
    return [name, Array.isArray(value) ? value.join(',') : (value ?? null)]
  })
  const frame = JSON.stringify([
    'tollgate-cache-v1',
    input.tenant,
    input.generation,
    input.provider,
    input.method.toUpperCase(),
    input.route,
    headers,
    input.variant ?? '',
  ])
  if (input.json === undefined)
    return createHash('sha256').update(frame).update('\nraw\n').update(input.body).digest('hex')
  // The canonical JSON is gathered into one string and hashed in one call; a body past 64 KiB
  // goes through an incremental hash in 64 KiB pieces instead of being built into a second string.
  let pending = `${frame}\njson\n`
  let incremental: Hash | undefined
  writeCanonicalJson(input.json, (piece) => {
    if (pending.length + piece.length < FLUSH_AT) {
      pending += piece
      return
    }
    incremental ??= createHash('sha256')
    incremental.update(pending)
    pending = ''
    // a large piece (a long prompt) is hashed as it is, not copied into `pending`
    if (piece.length < FLUSH_AT) pending = piece
    else incremental.update(piece)
  })
  return incremental ? incremental.update(pending).digest('hex') : hash('sha256', pending, 'hex')
}
