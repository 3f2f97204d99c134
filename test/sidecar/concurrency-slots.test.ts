import { connect, createServer, type Server, type Socket } from 'node:net'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { type FakeProvider, startFakeProvider } from '../fake-provider/fake-provider.ts'
import {
  PLACEHOLDER_KEY,
  REAL_KEY,
  startHarness,
  startSidecarProcess,
  tenantYaml,
  writeConfig,
} from './harness.ts'
import { policyYaml, uniqueTenant } from './policy.ts'

// A concurrency slot is taken only while its call is in flight: a settle that could not reach
// Redis is made good once Redis is back, and a sidecar that dies frees its slots within seconds.

const { redisUrl } = inject('stack')
const chat = {
  model: 'gpt-4o-mini',
  messages: [{ role: 'user' as const, content: 'Tell me about toll gates.' }],
}

let fake: FakeProvider
beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: REAL_KEY })
})
afterAll(async () => fake?.close())

/** Cut is a TCP relay to Redis that the test can cut (every connection dropped, new ones refused) and restore. */
class Cut {
  #target: URL
  #server: Server
  #sockets = new Set<Socket>()
  #open = true
  port = 0
  constructor(target: URL) {
    this.#target = target
    this.#server = createServer((client) => {
      if (!this.#open) return client.destroy()
      const upstream = connect(Number(target.port), target.hostname)
      for (const s of [client, upstream]) {
        this.#sockets.add(s)
        s.on('error', () => {})
        s.on('close', () => {
          this.#sockets.delete(s)
          client.destroy()
          upstream.destroy()
        })
      }
      client.pipe(upstream).pipe(client)
    })
  }
  async listen() {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
    this.port = (this.#server.address() as { port: number }).port
    // The target's URL with the relay's port: its user and password are what Redis asks for.
    const url = new URL(this.#target)
    url.hostname = '127.0.0.1'
    url.port = String(this.port)
    return url.toString()
  }
  cut() {
    this.#open = false
    for (const s of this.#sockets) s.destroy()
  }
  restore() {
    this.#open = true
  }
  close() {
    this.cut()
    return new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}

const tenantWithOneSlot = (tenant: string) => ({
  tenant,
  fake,
  extra: policyYaml('single', tenant, [
    'failureMode: open',
    'limits:',
    '  - { name: single, concurrency: 1 }',
  ]),
})

describe('concurrency slots', () => {
  it('a slot whose settle could not reach Redis is freed as soon as Redis is back', async () => {
    const relay = new Cut(new URL(redisUrl))
    const url = await relay.listen()
    const tenant = uniqueTenant()
    const h = await startHarness({ ...tenantWithOneSlot(tenant), flags: ['--redis', url] })
    try {
      const slow = h.openai.chat.completions.create(chat, { headers: { 'x-fake-delay-ms': '800' } })
      await fake.waitForRequest((r) => r.headers['x-fake-delay-ms'] === '800' && !r.ended)
      relay.cut()
      await slow // ends while Redis cannot be reached: its settle fails
      relay.restore()
      // once Redis is back the slot is free again: a call through a second sidecar gets it
      const other = await startHarness({ ...tenantWithOneSlot(tenant), flags: ['--redis', redisUrl] })
      try {
        await vi.waitFor(() => other.openai.chat.completions.create(chat), { timeout: 10_000, interval: 500 })
      } finally {
        await other.close()
      }
    } finally {
      await h.close()
      await relay.close()
    }
  }, 30_000)

  it('a sidecar that dies mid-call frees its slot within seconds, while a long call keeps its own', async () => {
    const tenant = uniqueTenant()
    const file = await writeConfig(
      tenantYaml({ name: tenant, baseURL: fake.url, extra: tenantWithOneSlot(tenant).extra }),
    )
    const [a, b] = [startSidecarProcess(file, redisUrl), startSidecarProcess(file, redisUrl)]
    try {
      const [urlA, urlB] = await Promise.all([a.url, b.url])
      const client = (url: string) =>
        new OpenAI({ apiKey: PLACEHOLDER_KEY, baseURL: `${url}/openai/v1`, maxRetries: 0 })
      // b holds the slot with a call longer than a lease
      const long = client(urlB).chat.completions.create(chat, { headers: { 'x-fake-delay-ms': '14000' } })
      await fake.waitForRequest((r) => r.headers['x-fake-delay-ms'] === '14000' && !r.ended)
      await new Promise((resolve) => setTimeout(resolve, 12_000))
      const refused = await client(urlA)
        .chat.completions.create(chat)
        .catch((e) => e)
      expect(refused.status).toBe(429)
      // b dies with the slot taken: a gets it within a lease
      b.child.kill('SIGKILL')
      await long.catch(() => {})
      const started = Date.now()
      await vi.waitFor(() => client(urlA).chat.completions.create(chat), { timeout: 20_000, interval: 250 })
      expect(Date.now() - started).toBeLessThan(16_000)
    } finally {
      await a.stop()
      await b.stop()
    }
  }, 60_000)
})
