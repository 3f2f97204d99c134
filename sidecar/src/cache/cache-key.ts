import { createHash } from 'node:crypto'
import { writeCanonicalJson } from './canonical-json.ts'

/**
 * KEY_HEADERS are the request headers that change a provider's answer and so are part of the
 * key. Authorization is not: the tenant is the identity, and apps hold a placeholder key.
 */
export const KEY_HEADERS = ['anthropic-version', 'anthropic-beta', 'openai-beta'] as const

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
  const hash = createHash('sha256').update(frame).update('\n')
  if (input.json === undefined) hash.update('raw\n').update(input.body)
  else {
    hash.update('json\n')
    // small pieces are gathered (one native call per 64 KiB), large ones hashed as they come
    let pending = ''
    writeCanonicalJson(input.json, (piece) => {
      if (piece.length < FLUSH_AT) {
        pending += piece
        if (pending.length < FLUSH_AT) return
        piece = pending
      } else if (pending) hash.update(pending)
      pending = ''
      hash.update(piece)
    })
    if (pending) hash.update(pending)
  }
  return hash.digest('hex')
}
