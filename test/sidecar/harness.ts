import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Anthropic from '@anthropic-ai/sdk'
import type { RedisMode, UsageCounter } from '@tollgate/api'
import { parseFlags, type Sidecar, startSidecar } from '@tollgate/sidecar'
import OpenAI from 'openai'
import { inject } from 'vitest'
import { type FakeProvider, startFakeProvider } from '../fake-provider/fake-provider.ts'
import { eventually } from '../support/eventually.ts'

/** The real provider key: the fake answers 401 to anything else. */
export const REAL_KEY = 'sk-real-0a1b2c3d4e5f60718293a4b5c6d7e8f9'
/** The key apps are given: it must never reach the provider. */
export const PLACEHOLDER_KEY = 'sk-placeholder-app-key-not-a-secret'

/**
 * tenantYaml is a Tenant (openai key from the environment, anthropic key from a Secret in the file).
 * Its providers forward the fake provider's control headers (`x-fake-*`), which the sidecar's own
 * allow-list does not pass, the way a Tenant lists the headers a gateway of its own needs.
 */
export function tenantYaml(opts: {
  name: string
  baseURL: string
  spec?: string[]
  /** More provider entries, YAML flow maps; `http://FAKE` stands for baseURL. */
  providers?: string[]
  extra?: string
}): string {
  return [
    'apiVersion: tollgate.dev/v1alpha1',
    'kind: Tenant',
    `metadata: { name: ${opts.name} }`,
    'spec:',
    '  tier: unlimited',
    '  providers:',
    `    - { name: openai, type: openai, baseURL: "${opts.baseURL}", forwardHeaders: ["x-fake-*"] }`,
    '    - name: anthropic',
    '      type: anthropic',
    `      baseURL: "${opts.baseURL}"`,
    '      forwardHeaders: ["x-fake-*"]',
    '      credentialsSecretRef: { namespace: tollgate-system, name: anthropic-key, key: apiKey }',
    ...(opts.providers ?? []).map((p) => `    - ${p.replaceAll('http://FAKE', opts.baseURL)}`),
    ...(opts.spec ?? []).map((line) => `  ${line}`),
    '---',
    'apiVersion: v1',
    'kind: Secret',
    'metadata: { name: anthropic-key, namespace: tollgate-system }',
    `stringData: { apiKey: "${REAL_KEY}" }`,
    ...(opts.extra ? ['---', opts.extra] : []),
    '',
  ].join('\n')
}

let configDir: string | undefined

/**
 * writeConfig writes a YAML config to a fresh file and returns its path. The files of one test
 * worker share a temp folder, removed when the worker exits.
 */
export async function writeConfig(yaml: string): Promise<string> {
  if (!configDir) {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-sidecar-test-'))
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
    configDir = dir
  }
  const file = join(await mkdtemp(join(configDir, 'config-')), 'tollgate.yaml')
  await writeFile(file, yaml)
  return file
}

/**
 * flushUsage writes a sidecar's usage counters to Redis, again if a write fails: the data
 * connection is torn down and rebuilt when a reply is late (its socket timeout), which a loaded
 * machine can cause with nothing wrong; the sidecar then writes its totals again on reconnect.
 * Tests that read the counters need them written, not the first try to succeed.
 */
export function flushUsage(sidecar: Sidecar, timeoutMs = 20_000): Promise<unknown> {
  return eventually(
    () =>
      sidecar.usage.flush().then(
        () => true,
        () => false,
      ),
    timeoutMs,
    'usage written to Redis',
  )
}

/** Harness is a fake provider and an in-process standalone sidecar in front of it, with SDK clients. */
export interface Harness {
  fake: FakeProvider
  sidecar: Sidecar
  /** Every log line the sidecar wrote. */
  logs: string[]
  openai: OpenAI
  anthropic: Anthropic
  directOpenAI: OpenAI
  directAnthropic: Anthropic
  /** usage sums a provider/model's recorded counters over all hours. */
  usage(provider: string, model: string): Record<UsageCounter, number>
  close(): Promise<void>
}

/** startHarness starts the fake (which insists on REAL_KEY) and a sidecar for one tenant. */
export async function startHarness(
  opts: {
    tenant?: string
    spec?: string[]
    providers?: string[]
    extra?: string
    flags?: string[]
    /** The topology of a --redis in flags; default the stack's. */
    redisMode?: RedisMode
    fake?: FakeProvider
  } = {},
): Promise<Harness> {
  const fake = opts.fake ?? (await startFakeProvider({ apiKey: REAL_KEY }))
  const file = await writeConfig(tenantYaml({ ...opts, name: opts.tenant ?? 'acme', baseURL: fake.url }))
  const logs: string[] = []
  const options = parseFlags(
    [
      '--config',
      file,
      '--listen',
      '127.0.0.1:0',
      '--admin-listen',
      '127.0.0.1:0',
      '--log-level',
      'trace',
      ...(opts.flags ?? []),
    ],
    // A --redis among the flags is the stack's, in the stack's topology.
    { TOLLGATE_REDIS_MODE: opts.redisMode ?? inject('stack').redisMode },
  )
  if (!options) throw new Error('no options')
  const sidecar = await startSidecar(
    options,
    { OPENAI_API_KEY: REAL_KEY },
    // the access log hands over several lines at once
    { write: (text: string) => logs.push(...text.split(/(?<=\n)/)) },
  )
  const sdk = { maxRetries: 0, timeout: 10_000 }
  return {
    fake,
    sidecar,
    logs,
    openai: new OpenAI({ ...sdk, apiKey: PLACEHOLDER_KEY, baseURL: `${sidecar.proxyUrl}/openai/v1` }),
    anthropic: new Anthropic({ ...sdk, apiKey: PLACEHOLDER_KEY, baseURL: `${sidecar.proxyUrl}/anthropic` }),
    directOpenAI: new OpenAI({ ...sdk, apiKey: REAL_KEY, baseURL: `${fake.url}/v1` }),
    directAnthropic: new Anthropic({ ...sdk, apiKey: REAL_KEY, baseURL: fake.url }),
    usage(provider, model) {
      const sum = {} as Record<UsageCounter, number>
      for (const row of sidecar.memoryUsage?.totals() ?? []) {
        if (row.provider !== provider || row.model !== model) continue
        for (const [counter, value] of Object.entries(row.counters)) {
          sum[counter as UsageCounter] = (sum[counter as UsageCounter] ?? 0) + value
        }
      }
      return sum
    },
    async close() {
      await sidecar.shutdown(1_000)
      if (!opts.fake) await fake.close()
    },
  }
}

/** SidecarProcess is a sidecar run as its own process, as in a pod: a crash or a kill is real. */
export interface SidecarProcess {
  child: ChildProcess
  /** The proxy's URL, from its start log line; rejects when the process exits first. */
  url: Promise<string>
  stop(): Promise<void>
}

/** startSidecarProcess runs `tollgate-sidecar --config file --redis redisUrl` on free loopback ports. */
export function startSidecarProcess(
  file: string,
  redisUrl: string,
  redisMode: RedisMode = inject('stack').redisMode,
): SidecarProcess {
  const child = spawn(
    process.execPath,
    [
      new URL('../../sidecar/src/main.ts', import.meta.url).pathname,
      '--config',
      file,
      '--redis',
      redisUrl,
      '--redis-mode',
      redisMode,
      '--listen',
      '127.0.0.1:0',
      '--admin-listen',
      '127.0.0.1:0',
    ],
    { env: { PATH: process.env.PATH ?? '', OPENAI_API_KEY: REAL_KEY }, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let out = ''
  const url = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /"proxy":"(http:\/\/[^"]+)"/.exec(out)
      if (m?.[1]) resolve(m[1])
    })
    child.once('exit', (code) => reject(new Error(`sidecar exited with ${code}`)))
  })
  url.catch(() => {}) // a caller that never awaits url must not see an unhandled rejection
  return {
    child,
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    },
  }
}
