import { type CallEvent, parseFeedEntry } from '@tollgate/api/feed.ts'
import { keys } from '@tollgate/api/redis-keys.ts'
import { describe, expect, it } from 'vitest'
import { privateRedis, stackRedis } from '../../../test/support/redis.ts'
import { uniqueTenant } from '../limits/fixtures.test-support.ts'
import { DataRedis } from '../resilience/redis-client.ts'
import { RedisFeedPublisher } from './feed-publisher.ts'

const event = (i: number): CallEvent => ({
  type: 'call',
  at: 1_764_000_000_000 + i,
  instance: 'sidecar-1',
  provider: 'openai',
  model: 'gpt-4o-mini',
  namespace: 'team-a',
  workload: 'deployment/app',
  user: '',
  status: 200,
  cacheHit: false,
  inputTokens: i,
  outputTokens: 2 * i,
  costNano: 10 * i,
  savedNano: 0,
})

describe('RedisFeedPublisher', () => {
  it('appends the events of one interval in one Redis call, one stream entry per event, in order', async () => {
    const server = await privateRedis()
    const redis = new DataRedis({ url: server.url })
    const admin = stackRedis(server.adminUrl, 'single')
    await redis.waitUntilUp(5_000)
    const tenant = uniqueTenant()
    const feed = new RedisFeedPublisher({ client: redis.client, tenant, intervalMs: 60_000 })
    feed.publish(event(0))
    await feed.flush() // loads the script (EVALSHA answers NOSCRIPT, then EVAL)
    await admin.config('RESETSTAT')
    for (let i = 1; i <= 5; i++) feed.publish(event(i))
    await feed.close()
    const stats = await admin.info('commandstats')
    const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0)
    expect([calls('evalsha'), calls('xadd')]).toEqual([1, 5])
    const entries = (await admin.xrange(keys.feed(tenant), '-', '+')) as [string, string[]][]
    expect(entries.map(([, fields]) => parseFeedEntry(fields))).toEqual([0, 1, 2, 3, 4, 5].map(event))
    admin.disconnect()
    await redis.close()
    await server.close()
  })
})
