import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeProvider, startFakeProvider } from '../fake-provider/fake-provider.ts'
import { PLACEHOLDER_KEY, REAL_KEY, tenantYaml, writeConfig } from './harness.ts'

const MAIN = new URL('../../sidecar/src/main.ts', import.meta.url).pathname

interface Run {
  child: ChildProcess
  stdout: string[]
  stderr: string[]
  exited: Promise<number | null>
}

function run(args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []): Run {
  const child = spawn(process.execPath, [...nodeArgs, MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', OPENAI_API_KEY: REAL_KEY, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const stdout: string[] = []
  const stderr: string[] = []
  child.stdout?.on('data', (d: Buffer) => stdout.push(d.toString()))
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()))
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  return { child, stdout, stderr, exited }
}

/** listening waits for the ready log line and returns the proxy URL from it. */
async function listening(r: Run): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const m = /"proxy":"(http:\/\/[^"]+)"/.exec(r.stdout.join(''))
    if (m?.[1]) return m[1]
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`sidecar did not start: ${r.stderr.join('')}`)
}

const lines = (chunks: string[]) => chunks.join('').split('\n').filter(Boolean)

let fake: FakeProvider
let config: string
beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: REAL_KEY })
  config = await writeConfig(tenantYaml({ name: 'acme', baseURL: fake.url }))
})
afterAll(async () => {
  await fake?.close()
})

const ports = ['--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0']

describe('tollgate-sidecar command line', () => {
  it('prints help and exits 0', async () => {
    const r = run(['--help'])
    expect(await r.exited).toBe(0)
    expect(r.stdout.join('')).toMatch(/^Usage: tollgate-sidecar \[--config FILE\]/)
    expect(r.stdout.join('')).toContain('TOLLGATE_REDIS_URL')
  })

  it.each([
    [['--bogus'], 2, /^tollgate-sidecar: Unknown option '--bogus'.*TOLLGATE_ERR_INVALID_FLAG/],
    [[], 2, /^tollgate-sidecar: give --config FILE/],
    [
      ['--config', '/nonexistent/tollgate.yaml'],
      1,
      /^tollgate-sidecar: \/nonexistent\/tollgate.yaml: cannot read: ENOENT/,
    ],
  ])('refuses %j with one clear line', async (args, code, message) => {
    const r = run(args)
    expect(await r.exited).toBe(code)
    expect(lines(r.stderr)).toHaveLength(1)
    expect(r.stderr.join('')).toMatch(message)
  })

  it.each([
    [
      'a kind it does not know',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: x }\n',
      /document 1: kind Deployment/,
    ],
    [
      'a Tenant the schema refuses',
      tenantYamlWith('    - { name: azure, type: azure-openai }'),
      /Tenant acme: .*spec\.providers/,
    ],
    [
      'two Tenants and no --tenant',
      `${tenantYamlWith('')}---\n${tenantYamlWith('').replace('name: acme', 'name: other')}`,
      /2 Tenants; choose one with --tenant/,
    ],
  ])('exits 1 naming the problem when the file holds %s', async (_name, yaml, message) => {
    const r = run(['--config', await writeConfig(yaml), ...ports])
    expect(await r.exited).toBe(1)
    expect(lines(r.stderr)).toHaveLength(1)
    expect(r.stderr.join('')).toMatch(message)
    expect(r.stderr.join('')).toContain('TOLLGATE_ERR_INVALID_CONFIG')
  })
})

describe('start-up', () => {
  it('loads in standalone mode neither schemas, validators, YAML, Redis client nor tracing SDK', async () => {
    // They cost start time and stay resident: the config file is read in a short-lived child.
    const trace = join(await mkdtemp(join(tmpdir(), 'tollgate-modules-')), 'modules.txt')
    const hook = new URL('./module-trace.ts', import.meta.url).pathname
    const r = run(['--config', config, ...ports], { MODULE_TRACE_FILE: trace }, ['--import', hook])
    await listening(r)
    r.child.kill('SIGTERM')
    await r.exited
    const loaded = (await readFile(trace, 'utf8')).split('\n')
    expect(loaded.some((url) => url.endsWith('/undici/lib/dispatcher/pool.js'))).toBe(true)
    const heavy =
      /node_modules\/(@sinclair|ajv|@marcbachmann|yaml|ioredis|@opentelemetry\/sdk)|\/api\/src\/(crd|validate|compile|index)\.ts/
    expect(loaded.filter((url) => heavy.test(url))).toEqual([])
  })
})

function tenantYamlWith(providerLine: string): string {
  return [
    'apiVersion: tollgate.dev/v1alpha1',
    'kind: Tenant',
    'metadata: { name: acme }',
    'spec:',
    '  providers:',
    '    - { name: openai, type: openai }',
    providerLine,
    '',
  ].join('\n')
}

describe('SIGTERM', () => {
  it('drains a stream in flight to its end, refuses new calls, and exits 0', async () => {
    const r = run(['--config', config, ...ports])
    const proxy = await listening(r)
    const client = new OpenAI({ apiKey: PLACEHOLDER_KEY, baseURL: `${proxy}/openai/v1`, maxRetries: 0 })
    const body = {
      model: 'gpt-4o-mini',
      stream: true as const,
      messages: [{ role: 'user' as const, content: 'drain me' }],
    }
    const slow = { headers: { 'x-fake-chunk-delay-ms': '60', 'x-fake-output-tokens': '15' } }
    const direct = new OpenAI({ apiKey: REAL_KEY, baseURL: `${fake.url}/v1`, maxRetries: 0 })
    let expected = ''
    for await (const chunk of await direct.chat.completions.create(body, slow))
      expected += chunk.choices[0]?.delta?.content ?? ''

    const stream = await client.chat.completions.create(body, slow)
    let text = ''
    let signalled = false
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? ''
      if (!signalled && text) {
        signalled = true
        r.child.kill('SIGTERM')
        await new Promise((resolve) => setTimeout(resolve, 50))
        await expect(fetch(`${proxy}/openai/v1/models`)).rejects.toThrow()
      }
    }
    expect(signalled).toBe(true)
    expect(text).toBe(expected)
    expect(await r.exited).toBe(0)
    expect(fake.requests.at(-1)?.aborted).toBe(false)
    const log = r.stdout.join('')
    expect(log).toContain('"msg":"draining"')
    expect(log).toContain('"msg":"stopped"')
    expect(log).not.toContain(REAL_KEY)
    expect(log).not.toContain(PLACEHOLDER_KEY)
  })
})

describe('tracing', () => {
  let collector: Server
  const exports: unknown[] = []
  beforeAll(async () => {
    collector = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        if (req.url === '/v1/traces') exports.push(JSON.parse(Buffer.concat(chunks).toString()))
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      })
    })
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve))
  })
  afterAll(() => new Promise<void>((resolve) => collector.close(() => resolve())))

  it('exports one CLIENT span per call with GenAI attributes and sends its traceparent upstream', async () => {
    const r = run(['--config', config, ...ports], {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_SERVICE_NAME: 'tollgate-sidecar-test',
    })
    const proxy = await listening(r)
    const client = new OpenAI({ apiKey: PLACEHOLDER_KEY, baseURL: `${proxy}/openai/v1`, maxRetries: 0 })
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    const appSpan = '00f067aa0ba902b7'
    const answer = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'trace me' }] },
      { headers: { traceparent: `00-${traceId}-${appSpan}-01` } },
    )
    const sent = String(fake.requests.at(-1)?.headers.traceparent)
    const [, sentTrace, sentParent] = sent.split('-')
    expect(sentTrace).toBe(traceId)
    expect(sentParent).not.toBe(appSpan)
    r.child.kill('SIGTERM')
    expect(await r.exited).toBe(0)

    type Attr = { key: string; value: Record<string, unknown> }
    type OtlpSpan = {
      traceId: string
      spanId: string
      parentSpanId: string
      name: string
      kind: number
      attributes: Attr[]
    }
    const spans = (exports as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] }[]).flatMap((e) =>
      e.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)),
    )
    expect(spans).toHaveLength(1)
    const span = spans[0] as OtlpSpan
    const attr = (key: string) => {
      const v = span.attributes.find((a) => a.key === key)?.value
      return v?.stringValue ?? (v?.intValue !== undefined ? Number(v.intValue) : v?.boolValue)
    }
    expect(span).toMatchObject({
      traceId,
      parentSpanId: appSpan,
      spanId: sentParent,
      name: 'chat gpt-4o-mini',
      kind: 3,
    })
    expect(attr('gen_ai.operation.name')).toBe('chat')
    expect(attr('gen_ai.provider.name')).toBe('openai')
    expect(attr('gen_ai.request.model')).toBe('gpt-4o-mini')
    expect(attr('gen_ai.response.model')).toBe(answer.model)
    expect(attr('gen_ai.usage.input_tokens')).toBe(answer.usage?.prompt_tokens)
    expect(attr('gen_ai.usage.output_tokens')).toBe(answer.usage?.completion_tokens)
    expect(JSON.stringify(exports)).not.toContain(REAL_KEY)
    expect(JSON.stringify(exports)).not.toContain('trace me')
  })
})
