import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeProvider, startFakeProvider } from '../fake-provider/fake-provider.ts'
import { type Harness, PLACEHOLDER_KEY, REAL_KEY, startHarness, tenantYaml, writeConfig } from './harness.ts'
import { policyYaml } from './policy.ts'

// No request body can end or wedge the sidecar. The sidecar runs as its own process here, with
// the heap of the chart's memory limit, so a crash or an out-of-memory is seen as such.

let fake: FakeProvider
let child: ChildProcess
let url: string
let exited: Promise<unknown>
beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: REAL_KEY })
  const file = await writeConfig(
    tenantYaml({
      name: 'bad-input',
      baseURL: fake.url,
      spec: ['limits: { requestsPerMinute: 100000 }', 'cache: { enabled: true }'],
      // one call a minute of gpt-4.1-nano: a refused call leaves its cache lookup behind
      extra: policyYaml('nano', 'bad-input', [
        'limits:',
        '  - { name: nano, match: { models: ["gpt-4.1-nano"] }, requestsPerMinute: 1 }',
      ]),
    }),
  )
  child = spawn(
    process.execPath,
    [
      '--max-old-space-size=256',
      new URL('../../sidecar/src/main.ts', import.meta.url).pathname,
      '--config',
      file,
      '--listen',
      '127.0.0.1:0',
      '--admin-listen',
      '127.0.0.1:0',
    ],
    { env: { PATH: process.env.PATH ?? '', OPENAI_API_KEY: REAL_KEY }, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  exited = once(child, 'exit')
  url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /"proxy":"(http:\/\/[^"]+)"/.exec(out)
      if (m?.[1]) resolve(m[1])
    })
    child.once('exit', (code) => reject(new Error(`sidecar exited with ${code}`)))
  })
})
afterAll(async () => {
  if (child?.exitCode === null) {
    child.kill('SIGTERM')
    await exited
  }
  await fake?.close()
})

const post = (body: string | Buffer) =>
  fetch(`${url}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${PLACEHOLDER_KEY}` },
    body,
  })

const stillServes = async () => {
  expect(child.exitCode).toBe(null)
  const ok = await post(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }))
  expect(ok.status).toBe(200)
}

describe('bodies that used to end the sidecar', () => {
  it('10 KB of nested JSON: a 400 naming the depth limit, and the sidecar keeps serving', async () => {
    const depth = 5_000
    const deep = (model: string) =>
      `{"model":"${model}","messages":[{"role":"user","content":${'['.repeat(depth)}${']'.repeat(depth)}}]}`
    await post(JSON.stringify({ model: 'gpt-4.1-nano', messages: [{ role: 'user', content: 'hi' }] }))
    const response = await post(deep('gpt-4.1-nano'))
    expect(response.status).toBe(400)
    expect(response.headers.get('x-tollgate-error-code')).toBe('TOLLGATE_ERR_JSON_TOO_COMPLEX')
    expect(await response.text()).toContain('deep')
    await new Promise((resolve) => setTimeout(resolve, 200))
    await stillServes()
  })

  it('32 MiB of small objects: a 400 naming the node limit, within the heap of the chart', async () => {
    const items = '{},'.repeat(Math.floor((32 * 1024 * 1024 - 100) / 3))
    const body = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"x":[${items}{}]}`
    const response = await post(body)
    expect(response.status).toBe(400)
    expect(response.headers.get('x-tollgate-error-code')).toBe('TOLLGATE_ERR_JSON_TOO_COMPLEX')
    await stillServes()
  }, 60_000)
})

describe('model names are checked before they reach metrics, Redis or the ledger', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({ tenant: 'models', fake })
  })
  afterAll(async () => h?.close())

  it.each([
    ['3 KB long', 'gpt-'.repeat(768)],
    ['with a field separator', 'gpt-4o|mini'],
    ['with a line break', 'gpt-4o\nmini'],
  ])('a model %s: 400, not counted', async (_name, model) => {
    const sent = fake.requests.length
    const error = (await h.openai.chat.completions
      .create({ model, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e) => e)) as { status: number; code: string; param: string }
    expect([error.status, error.code, error.param]).toEqual([400, 'TOLLGATE_ERR_INVALID_MODEL', 'model'])
    expect(fake.requests.length).toBe(sent)
    expect(
      h.sidecar.memoryUsage?.totals().some((row) => row.model.length > 256 || row.model.includes('mini')),
    ).toBe(false)
  })
})

describe('bytes of bodies in flight are bounded per sidecar', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({
      tenant: 'inflight',
      fake,
      flags: ['--max-inflight-body-bytes', '1048576', '--max-body-bytes', '1048576'],
    })
  })
  afterAll(async () => h?.close())

  it('a body that would pass the bound is answered 503 with retry-after while another is read', async () => {
    const target = new URL(`${h.sidecar.proxyUrl}/openai/v1/chat/completions`)
    // a client that declares 900 KiB, sends 800 KiB and then holds the rest of its body
    const slow = request(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(900 * 1024) },
    })
    slow.on('error', () => {})
    slow.write(Buffer.alloc(800 * 1024, 0x20))
    await new Promise((resolve) => setTimeout(resolve, 300))
    const body = JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'x'.repeat(400 * 1024) }],
    })
    const response = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${PLACEHOLDER_KEY}` },
      body,
    })
    expect(response.status).toBe(503)
    expect(response.headers.get('x-tollgate-error-code')).toBe('TOLLGATE_ERR_OVERLOADED')
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    slow.destroy()
    await new Promise((resolve) => setTimeout(resolve, 200))
    const after = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${PLACEHOLDER_KEY}` },
      body,
    })
    expect(after.status).toBe(200)
  })
})
