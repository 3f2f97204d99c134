import { type CallEvent, type FeedEvent, nanoToUsd } from '@tollgate/api'
import type { ConsoleClient } from './console-client.ts'
import { table } from './table.ts'

interface Line {
  tenant: string
  workload: string
  model: string
  calls: number
  refused: number
  hits: number
  tokens: number
  costNano: number
}

/**
 * topCommand follows tenants' live feeds and shows the calls since it started per tenant, workload
 * and model, largest spend first, redrawn every `intervalMs` (like `kubectl top`, from the feed,
 * not the ledger); with `forMs` it stops after that long and prints the table once.
 */
export async function topCommand(
  client: ConsoleClient,
  tenants: string[],
  o: {
    forMs?: number
    intervalMs: number
    write: (text: string) => void
    /** Called once every feed is connected; `forMs` counts from then. */
    onConnected?: () => void
    signal?: AbortSignal
  },
): Promise<string> {
  const lines = new Map<string, Line>()
  const add = (tenant: string, e: CallEvent) => {
    const key = `${tenant}|${e.workload}|${e.model}`
    const line = lines.get(key) ?? {
      tenant,
      workload: e.workload || '-',
      model: e.model,
      calls: 0,
      refused: 0,
      hits: 0,
      tokens: 0,
      costNano: 0,
    }
    line.calls++
    if (e.refusedBy) line.refused++
    if (e.cacheHit) line.hits++
    line.tokens += e.inputTokens + e.outputTokens
    line.costNano += e.costNano
    lines.set(key, line)
  }
  const started = Date.now()
  const stop = new AbortController()
  o.signal?.addEventListener('abort', () => stop.abort(), { once: true })
  let connected = 0
  const onConnected = () => {
    if (++connected < tenants.length) return
    o.onConnected?.()
  }
  const follow = tenants.map((tenant) =>
    followFeed(client, tenant, started, stop.signal, onConnected, (e) => e.type === 'call' && add(tenant, e)),
  )
  const render = () =>
    table(
      ['tenant', 'workload', 'model', 'calls', 'refused', 'cache hits', 'tokens', 'cost usd'],
      [...lines.values()]
        .sort((a, b) => b.costNano - a.costNano || b.calls - a.calls)
        .map((l) => [
          l.tenant,
          l.workload,
          l.model,
          l.calls,
          l.refused,
          l.hits,
          l.tokens,
          nanoToUsd(l.costNano),
        ]),
    )
  const timer =
    o.forMs === undefined ? setInterval(() => o.write(`\x1b[2J\x1b[H${render()}`), o.intervalMs) : undefined
  if (o.forMs !== undefined) setTimeout(() => stop.abort(), o.forMs)
  await Promise.all(follow)
  clearInterval(timer)
  return render()
}

/** followFeed reads a tenant's SSE feed and hands on the events that happened after `since`. */
async function followFeed(
  client: ConsoleClient,
  tenant: string,
  since: number,
  signal: AbortSignal,
  connected: () => void,
  on: (e: FeedEvent) => void,
): Promise<void> {
  let response: Response
  try {
    response = await client.request(`/api/v1/analytics/feed?tenant=${encodeURIComponent(tenant)}`, { signal })
  } catch (error) {
    if (signal.aborted) return
    throw error
  }
  connected()
  const decoder = new TextDecoder()
  let buffer = ''
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true })
      let end = buffer.indexOf('\n\n')
      while (end >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n')
        if (data && /^event: (call|budget)$/m.test(block)) {
          const event = JSON.parse(data) as FeedEvent
          if (event.at >= since) on(event)
        }
        end = buffer.indexOf('\n\n')
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error
  }
}
