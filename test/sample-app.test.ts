import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { estimateTokens, type FakeProvider, startFakeProvider } from './fake-provider/fake-provider.ts'

// examples/sample-app/main.mjs with the official SDKs against the fake provider. Run from the
// repository, it resolves openai and @anthropic-ai/sdk from the root node_modules, which its own
// lock file pins to the same versions (checked below).
const main = new URL('../examples/sample-app/main.mjs', import.meta.url).pathname
const KEY = 'sk-sample-app-test'
const run = promisify(execFile)

let fake: FakeProvider
let env: NodeJS.ProcessEnv
beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: KEY })
  env = {
    PATH: process.env.PATH,
    OPENAI_BASE_URL: `${fake.url}/v1`,
    ANTHROPIC_BASE_URL: fake.url,
    OPENAI_API_KEY: KEY,
    ANTHROPIC_API_KEY: KEY,
  }
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const callOnce = async (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
  const { stdout } = await run(process.execPath, [main, 'once', ...args], { env: { ...env, ...extraEnv } })
  const lines = stdout.trim().split('\n')
  expect(lines).toHaveLength(1)
  return JSON.parse(lines[0] as string)
}

describe('examples/sample-app', () => {
  const prompt = 'Say hello.'
  it.each([
    ['openai', false, 'gpt-4o-mini'],
    ['openai', true, 'gpt-4o-mini'],
    ['anthropic', false, 'claude-haiku-4-5'],
    ['anthropic', true, 'claude-haiku-4-5'],
  ])('once --provider %s (stream %s) prints the call and its usage', async (provider, stream, model) => {
    const result = await callOnce([
      '--provider',
      provider,
      ...(stream ? ['--stream'] : []),
      '--max-tokens',
      '5',
    ])
    expect(result).toMatchObject({ provider, stream, model, status: 200, error: null })
    expect(result.usage).toEqual({ inputTokens: estimateTokens([prompt]), outputTokens: 5 })
    expect(fake.usage()).toMatchObject([{ calls: 1, outputTokens: 5 }])
  })

  it('once exits 0 on an HTTP error and prints its status and body', async () => {
    fake.behave({ fail: 429 })
    const result = await callOnce(['--provider', 'openai', '--model', 'gpt-4o'])
    expect(result).toMatchObject({ status: 429, model: 'gpt-4o', usage: null })
    expect(result.error.type).toBe('RateLimitError')
    expect(result.error.body).toMatchObject({ code: 'rate_limit_exceeded' })
  })

  it('once prints the rate-limit headers of a refusal', async () => {
    fake.behave({ fail: 429, retryAfter: 7 })
    const result = await callOnce(['--provider', 'openai'])
    expect(result).toMatchObject({ status: 429, headers: { 'retry-after': '7' } })
  })

  it('once --count N makes N calls in a row, one line each, each prompt its own', async () => {
    const { stdout } = await run(process.execPath, [main, 'once', '--provider', 'openai', '--count', '3'], {
      env,
    })
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(lines.map((line) => line.status)).toEqual([200, 200, 200])
    const prompts = fake.requests.map(
      (r) => (r.body as { messages: { content: string }[] }).messages[0]?.content,
    )
    expect(new Set(prompts).size).toBe(3)
  })

  it('once --user names the end user as each SDK does: OpenAI user, Anthropic metadata.user_id', async () => {
    expect(await callOnce(['--provider', 'openai', '--user', 'ana'])).toMatchObject({ status: 200 })
    expect(await callOnce(['--provider', 'anthropic', '--user', 'ben'])).toMatchObject({ status: 200 })
    expect(fake.requests.map((r) => r.body)).toEqual([
      expect.objectContaining({ user: 'ana' }),
      expect.objectContaining({ metadata: { user_id: 'ben' } }),
    ])
  })

  it('once exits 0 when nothing answers (status 0) and 2 on a bad command line', async () => {
    const result = await callOnce(['--provider', 'anthropic', '--stream'], {
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:1',
    })
    expect(result).toMatchObject({ status: 0, usage: null, error: { type: 'APIConnectionError' } })
    const bad = await run(process.execPath, [main, 'once', '--provider', 'gemini'], { env }).catch((e) => e)
    expect(bad.code).toBe(2)
  })

  it('by default trickles plain and streamed calls through both SDKs, one JSON line each, until SIGTERM', async () => {
    const child: ChildProcess = spawn(process.execPath, [main], {
      env: { ...env, SAMPLE_INTERVAL_SECONDS: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const exited = once(child, 'exit')
    const lines: Record<string, unknown>[] = []
    for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
      lines.push(JSON.parse(line))
      if (lines.length === 4) break
    }
    child.kill('SIGTERM')
    expect(await exited).toEqual([0, null])
    expect(lines.map(({ call, provider, stream, status }) => ({ call, provider, stream, status }))).toEqual([
      { call: 1, provider: 'openai', stream: false, status: 200 },
      { call: 2, provider: 'openai', stream: true, status: 200 },
      { call: 3, provider: 'anthropic', stream: false, status: 200 },
      { call: 4, provider: 'anthropic', stream: true, status: 200 },
    ])
  })

  it('pins the SDKs, and everything they pull in, to the versions of the root lock file', () => {
    const packages = (file: string) =>
      (
        JSON.parse(readFileSync(new URL(file, import.meta.url), 'utf8')) as {
          packages: Record<string, { version?: string }>
        }
      ).packages
    const root = packages('../package-lock.json')
    const app = Object.entries(packages('../examples/sample-app/package-lock.json')).filter(([path]) => path)
    expect(app.map(([path]) => path)).toEqual(
      expect.arrayContaining(['node_modules/openai', 'node_modules/@anthropic-ai/sdk']),
    )
    for (const [path, entry] of app)
      expect({ path, version: entry.version }).toEqual({ path, version: root[path]?.version })
  })
})
