import type { ServerResponse } from 'node:http'
import type { LiveState } from './live-state.ts'

/** How often a followed feed is read; a call shows within about this long of its sidecar's write. */
export const FEED_POLL_MS = 250
/** A comment line this often keeps proxies (and kubectl port-forward) from closing an idle stream. */
const KEEPALIVE_MS = 15_000

/**
 * streamFeed answers with Server-Sent Events of a tenant's feed: first its `backlog` newest
 * entries (oldest first), then each new entry as it arrives (read every FEED_POLL_MS; one XRANGE
 * of one key, alike on a node and a cluster). Each event is `event: call|budget`, `id:` the stream
 * id (a reconnecting EventSource sends it back as Last-Event-ID and continues from there), `data:`
 * the FeedEvent as JSON. While Redis cannot be read, `event: unavailable` says so once and the
 * stream goes on trying. It ends when the client goes away.
 */
export async function streamFeed(
  live: LiveState,
  tenant: string,
  response: ServerResponse,
  options: { lastEventId?: string | undefined; backlog?: number } = {},
): Promise<void> {
  let cursor: string
  let backlog: Awaited<ReturnType<LiveState['latest']>> = []
  if (options.lastEventId && /^\d+-\d+$/.test(options.lastEventId)) cursor = options.lastEventId
  else {
    backlog = (await live.latest(tenant, options.backlog ?? 20)).reverse()
    cursor = backlog.at(-1)?.id ?? (await live.lastId(tenant))
  }
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
  })
  for (const item of backlog) write(response, item.event.type, item.id, item.event)
  response.write(': following\n\n')
  let closed = false
  response.on('close', () => {
    closed = true
  })
  let down = false
  let quietSince = Date.now()
  while (!closed) {
    await new Promise((r) => setTimeout(r, FEED_POLL_MS))
    if (closed) break
    try {
      const items = await live.after(tenant, cursor)
      if (down) write(response, 'available', undefined, { at: Date.now() })
      down = false
      for (const item of items) {
        write(response, item.event.type, item.id, item.event)
        cursor = item.id
      }
      if (items.length > 0) quietSince = Date.now()
    } catch (error) {
      if (!down) write(response, 'unavailable', undefined, { message: `Redis: ${(error as Error).message}` })
      down = true
    }
    if (Date.now() - quietSince > KEEPALIVE_MS) {
      response.write(': keep-alive\n\n')
      quietSince = Date.now()
    }
  }
}

function write(response: ServerResponse, event: string, id: string | undefined, data: unknown): void {
  response.write(`event: ${event}\n${id ? `id: ${id}\n` : ''}data: ${JSON.stringify(data)}\n\n`)
}
