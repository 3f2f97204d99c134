import { connect } from 'node:net'
import { keys } from '@tollgate/api'
import type OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import type { RedisClient } from '../../operator/src/redis/redis-client.ts'
import { type FakeProvider, startFakeProvider } from '../fake-provider/fake-provider.ts'
import { scanAll, stackRedis } from '../support/redis.ts'
import { type Harness, REAL_KEY, startHarness } from './harness.ts'
import { freshMinute, uniqueTenant } from './policy.ts'

// The sidecars run standalone, so with the operator's Redis user (every Tollgate key, no admin
// command); listing keys (KEYS) is the admin's.
const { redisUrl, redisAdminUrl } = inject('stack')
const CACHE = 'cache: { enabled: true, ttl: 1h }'

let fake: FakeProvider
let admin: RedisClient
const harnesses: Harness[] = []

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: REAL_KEY })
  admin = stackRedis(redisAdminUrl)
})
afterAll(async () => {
  for (const h of harnesses) await h.close()
  admin.disconnect()
  await fake?.close()
})

async function harness(tenant: string, spec: string[] = [], flags: string[] = []): Promise<Harness> {
  const h = await startHarness({ tenant, fake, spec: [CACHE, ...spec], flags })
  harnesses.push(h)
  return h
}

/** question makes a chat request no other test sends. */
const question = (tag: string) => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user' as const, content: `Tell me about toll gates (${tag}, ${Math.random()}).` }],
})

/** cacheKeys lists the tenant's cache entries in Redis. */
const cacheKeys = (tenant: string) =>
  scanAll(admin, `${keys.tenantPrefix(tenant).replace(/[{}]/g, '\\$&')}cache:*`)

interface RawResponse {
  head: string
  chunks: Buffer[]
}

/**
 * rawPost sends one HTTP/1.1 request over a plain socket and returns the response head and its
 * body as the chunks of the chunked transfer encoding, exactly as they came over the wire.
 */
function rawPost(base: string, path: string, body: unknown): Promise<RawResponse> {
  const url = new URL(base)
  const payload = JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname)
    const parts: Buffer[] = []
    socket.on('data', (d) => parts.push(d))
    socket.once('error', reject)
    socket.once('end', () => {
      const all = Buffer.concat(parts)
      const split = all.indexOf('\r\n\r\n')
      const head = all.subarray(0, split).toString()
      if (!/transfer-encoding: chunked/i.test(head)) return reject(new Error(`not chunked:\n${head}`))
      const chunks: Buffer[] = []
      let at = split + 4
      for (;;) {
        const eol = all.indexOf('\r\n', at)
        const size = Number.parseInt(all.subarray(at, eol).toString(), 16)
        if (size === 0) break
        chunks.push(all.subarray(eol + 2, eol + 2 + size))
        at = eol + 2 + size + 2
      }
      resolve({ head, chunks })
    })
    socket.write(
      `POST ${path} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\n` +
        `authorization: Bearer placeholder\r\ncontent-length: ${Buffer.byteLength(payload)}\r\n` +
        `connection: close\r\n\r\n${payload}`,
    )
  })
}

/** streamedText joins the content deltas of an OpenAI chat stream. */
const streamedText = (sse: Buffer) =>
  sse
    .toString()
    .split('\n')
    .filter((line) => line.startsWith('data: {'))
    .map((line) => JSON.parse(line.slice(6)).choices[0]?.delta?.content ?? '')
    .join('')

const header = (head: string, name: string) => new RegExp(`^${name}: (.*)$`, 'im').exec(head)?.[1]?.trim()

describe('response cache through the sidecar', () => {
  it('answers a repeated call from the cache: same answer, x-tollgate-cache, no second provider call, no tokens', async () => {
    const tenant = uniqueTenant()
    const h = await harness(tenant)
    const q = question('json')
    const before = fake.requests.length
    const first = await h.openai.chat.completions.create(q).withResponse()
    const second = await h.openai.chat.completions.create(q).withResponse()
    expect(first.response.headers.get('x-tollgate-cache')).toBe('miss')
    expect(second.response.headers.get('x-tollgate-cache')).toBe('hit')
    expect(second.response.headers.get('age')).toMatch(/^\d+$/)
    expect(second.data).toEqual(first.data)
    expect(fake.requests.length - before).toBe(1)
    const usage = h.usage('openai', 'gpt-4o-mini')
    expect(usage.requests).toBe(2)
    expect(usage.cacheHits).toBe(1)
    expect(usage.inputTokens).toBe(first.data.usage?.prompt_tokens)
    expect(usage.costNano).toBeGreaterThan(0)
  })

  it('replays a streamed answer with identical bytes and the original chunk boundaries', async () => {
    const tenant = uniqueTenant()
    const h = await harness(tenant)
    const body = { ...question('stream'), stream: true as const }
    const miss = await rawPost(h.sidecar.proxyUrl, '/openai/v1/chat/completions', body)
    const hit = await rawPost(h.sidecar.proxyUrl, '/openai/v1/chat/completions', body)
    expect(header(miss.head, 'x-tollgate-cache')).toBe('miss')
    expect(header(hit.head, 'x-tollgate-cache')).toBe('hit')
    expect(header(hit.head, 'content-type')).toBe(header(miss.head, 'content-type'))
    expect(miss.chunks.length).toBeGreaterThan(5)
    expect(hit.chunks.map((c) => c.length)).toEqual(miss.chunks.map((c) => c.length))
    expect(Buffer.concat(hit.chunks).equals(Buffer.concat(miss.chunks))).toBe(true)
    // and an SDK reads the replay as the same stream
    const stream = await h.openai.chat.completions.create(body)
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
    expect(text).toBe(streamedText(Buffer.concat(miss.chunks)))
    expect(text.length).toBeGreaterThan(0)
  })

  it('never serves one tenant’s entry to another tenant sending the identical request', async () => {
    const [a, b] = [uniqueTenant('a'), uniqueTenant('b')]
    const ha = await harness(a, [], ['--redis', redisUrl])
    const hb = await harness(b, [], ['--redis', redisUrl])
    const q = question('tenants')
    await ha.openai.chat.completions.create(q)
    await vi.waitFor(async () => expect(await cacheKeys(a)).toHaveLength(1))
    const before = fake.requests.length
    const other = await hb.openai.chat.completions.create(q).withResponse()
    expect(other.response.headers.get('x-tollgate-cache')).toBe('miss')
    expect(fake.requests.length - before).toBe(1)
    await vi.waitFor(async () => expect(await cacheKeys(b)).toHaveLength(1))
    expect(await cacheKeys(a)).toHaveLength(1)
    const again = await ha.openai.chat.completions.create(q).withResponse()
    expect(again.response.headers.get('x-tollgate-cache')).toBe('hit')
  })

  it('shares entries between the sidecars of one tenant through Redis', async () => {
    const tenant = uniqueTenant()
    const one = await harness(tenant, [], ['--redis', redisUrl])
    const two = await harness(tenant, [], ['--redis', redisUrl, '--cache-memory-bytes', '0'])
    const q = question('shared')
    const first = await one.openai.chat.completions.create(q)
    await vi.waitFor(async () => expect(await cacheKeys(tenant)).toHaveLength(1))
    const before = fake.requests.length
    const { data, response } = await two.openai.chat.completions.create(q).withResponse()
    expect(response.headers.get('x-tollgate-cache')).toBe('hit')
    expect(data).toEqual(first)
    expect(fake.requests.length).toBe(before)
  })

  it('honours cache-control: no-store bypasses, no-cache asks again and stores the new answer', async () => {
    const tenant = uniqueTenant()
    const h = await harness(tenant)
    const q = question('cache-control')
    const send = (cacheControl?: string) =>
      h.openai.chat.completions
        .create(q, cacheControl ? { headers: { 'cache-control': cacheControl } } : {})
        .withResponse()
        .then((r) => r.response.headers.get('x-tollgate-cache'))
    expect(await send('no-store')).toBe('bypass')
    expect(await send()).toBe('miss')
    expect(await send()).toBe('hit')
    const before = fake.requests.length
    expect(await send('no-cache')).toBe('miss')
    expect(fake.requests.length - before).toBe(1)
    expect(await send('max-age=3600')).toBe('hit')
  })

  it('counts a hit as a request but charges it no tokens', async () => {
    const tenant = uniqueTenant()
    // room for the tokens of about one call per minute, and for three requests
    const h = await harness(tenant, ['limits: { requestsPerMinute: 3, tokensPerMinute: 100 }'])
    await freshMinute()
    const q = { ...question('quota'), max_tokens: 30 }
    await h.openai.chat.completions.create(q)
    const hits = [
      await h.openai.chat.completions.create(q).withResponse(),
      await h.openai.chat.completions.create(q).withResponse(),
    ]
    expect(hits.map((r) => r.response.headers.get('x-tollgate-cache'))).toEqual(['hit', 'hit'])
    const error = (await h.openai.chat.completions.create(q).catch((e) => e)) as InstanceType<
      typeof OpenAI.APIError
    >
    expect(error.status).toBe(429)
    expect(error.message).toContain('requestsPerMinute')
  })
})
