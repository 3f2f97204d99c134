import type { IncomingHttpHeaders } from 'node:http'
import {
  type CacheLookup,
  type CacheRequest,
  cacheHeaders,
  type ResponseCache,
} from '../cache/response-cache.ts'
import { ResponseRecorder } from '../cache/response-recorder.ts'
import type { PendingCacheLookup, RequestContext } from '../context.ts'
import { TollgateError } from '../errors.ts'
import type { Handler, Stage } from '../stage.ts'
import type { SidecarMetrics } from '../telemetry/metrics.ts'
import { costNano } from '../usage/usage.ts'

const EMPTY = Buffer.alloc(0)
const BYPASS = { 'x-tollgate-cache': 'bypass' } as const

/**
 * cacheLookupStage starts the cache lookup before the reservation, so that on a memory miss the
 * Redis read goes out in the same write as the reservation and both take one round trip.
 * cacheStage, after the quota stage, acts on it. Calls it does not look up are `bypass`.
 */
export const cacheLookupStage =
  (cache: ResponseCache): Stage =>
  (next) =>
    function cacheLookupStage(ctx) {
      ctx.addHeaders(BYPASS)
      const { config, provider, endpoint } = ctx
      // model calls only; a batch or a background Response creates a job, which a replay would not
      if (
        config?.compiled.cache.enabled &&
        provider &&
        endpoint?.kind === 'model' &&
        !endpoint.batch &&
        ctx.json?.background !== true
      ) {
        const request: CacheRequest = {
          tenant: config.compiled.tenant,
          cache: config.compiled.cache,
          provider: provider.name,
          method: ctx.req.method ?? 'POST',
          route: ctx.path,
          headers: ctx.req.headers,
          body: ctx.body ?? EMPTY,
          json: ctx.json,
          stream: ctx.stream,
          ...(ctx.stripUsageChunk && { variant: 'strip-usage' }),
        }
        ctx.cacheLookup = { request, lookup: cache.lookup(request) }
      }
      return next(ctx)
    }

/**
 * cacheStage answers a repeated call from the tenant's cache (memory, then Redis) and stores
 * fresh answers: a hit is sent from here (a streamed answer chunk by chunk as it was first sent);
 * on a miss the upstream handler's writes to the client are recorded through `ctx.tap` and stored
 * once the answer completed with 200. It sits inside the quota stage, so a hit counts as a
 * request and its reservation is released. Every call it sees carries
 * `x-tollgate-cache: hit|miss|bypass`.
 */
export const cacheStage =
  (cache: ResponseCache, metrics?: SidecarMetrics): Stage =>
  (next) =>
    function cacheStage(ctx) {
      const pending = ctx.cacheLookup
      if (!pending) {
        metrics?.cacheLookup('bypass').inc()
        return next(ctx)
      }
      return answerOrRecord(cache, metrics, next, ctx, pending)
    }

async function answerOrRecord(
  cache: ResponseCache,
  metrics: SidecarMetrics | undefined,
  next: Handler,
  ctx: RequestContext,
  pending: PendingCacheLookup,
): Promise<void> {
  const { request } = pending
  const lookup = await pending.lookup
  metrics?.cacheLookup(lookup.status).inc()
  if (lookup.status === 'hit') return replay(ctx, lookup)
  ctx.addHeaders({ 'x-tollgate-cache': lookup.status })
  if (lookup.status === 'bypass') return next(ctx)
  if (lookup.onlyIfCached) {
    throw new TollgateError(
      'TOLLGATE_ERR_NOT_CACHED',
      'cache-control: only-if-cached, and no answer is cached',
    )
  }

  const recorder = new ResponseRecorder(request.cache.maxEntryBytes)
  let head: { status: number; headers: IncomingHttpHeaders } | undefined
  ctx.tap = {
    head: (status, headers) => {
      head = { status, headers }
    },
    chunk: (chunk) => recorder.write(chunk),
  }
  try {
    await next(ctx)
  } finally {
    ctx.tap = undefined
  }
  if (!head || ctx.aborted || ctx.reply || ctx.error) return
  const type = head.headers['content-type']
  const body = recorder.body(
    typeof type === 'string' && type.startsWith('text/event-stream') ? 'sse' : 'buffer',
  )
  // Not awaited: memory holds the entry at once, the Redis write needs no waiting (store never rejects).
  if (body && lookup.key)
    void cache.store(lookup.key, request, {
      status: head.status,
      headers: head.headers,
      body,
      costNano: costNano(ctx.price, ctx.usage, ctx.endpoint?.batch),
    })
}

/** replay answers from a cache entry: one buffer through the reply stage, a stream chunk by chunk. */
function replay(ctx: RequestContext, lookup: Extract<CacheLookup, { status: 'hit' }>): void {
  const { entry } = lookup
  ctx.cacheHit = true
  ctx.savedNano = entry.costNano ?? 0
  const { age, 'x-tollgate-cache': hit, ...stored } = cacheHeaders(lookup)
  ctx.addHeaders({ age: age as string, 'x-tollgate-cache': hit as string })
  if (entry.body.kind === 'buffer') {
    ctx.reply = { status: entry.status, headers: stored, body: entry.body.data }
    return
  }
  const { res } = ctx
  ctx.status = entry.status
  res.writeHead(entry.status, { ...stored, ...ctx.extraHeaders })
  // An entry is at most maxEntryBytes: it is written without waiting for the socket to drain.
  for (const chunk of entry.body.chunks) {
    if (ctx.aborted) return
    if (ctx.firstChunkAt === 0) ctx.firstChunkAt = performance.now()
    res.write(chunk)
  }
  res.end()
}
