// npm run demo: Tollgate in five seconds, no API key needed. Starts the fake LLM provider and a
// standalone sidecar in front of it on free loopback ports, has a short conversation through the
// official OpenAI and Anthropic SDKs (plain and streamed) with a placeholder key, and prints the
// answers, the usage and cost the sidecar recorded, then stops both.
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { startFakeProvider } from '../test/fake-provider/fake-provider.ts'

const KEY = 'sk-demo-real-key-known-only-to-the-sidecar'
const root = new URL('..', import.meta.url).pathname
const dim = (s: string) => `\x1b[2m${s}\x1b[0m`
const bold = (s: string) => `\x1b[1m${s}\x1b[0m`

const fake = await startFakeProvider({ apiKey: KEY })
const dir = await mkdtemp(join(tmpdir(), 'tollgate-demo-'))
const config = join(dir, 'demo.yaml')
await writeFile(
  config,
  `apiVersion: tollgate.dev/v1alpha1
kind: Tenant
metadata: { name: demo }
spec:
  tier: standard
  providers:
    - { name: openai, type: openai, baseURL: "${fake.url}" }
    - { name: anthropic, type: anthropic, baseURL: "${fake.url}" }
`,
)

const sidecar: ChildProcess = spawn(
  process.execPath,
  ['sidecar/src/main.ts', '--config', config, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'],
  {
    cwd: root,
    env: { ...process.env, OPENAI_API_KEY: KEY, ANTHROPIC_API_KEY: KEY },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
)
let out = ''
const urls = await new Promise<{ proxy: string; admin: string }>((resolve, reject) => {
  sidecar.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
    const m = /"proxy":"([^"]+)","admin":"([^"]+)"/.exec(out)
    if (m?.[1] && m[2]) resolve({ proxy: m[1], admin: m[2] })
  })
  sidecar.once('exit', (code) => reject(new Error(`sidecar exited with ${code}`)))
})

console.log(bold('Tollgate demo'))
console.log(dim(`fake provider ${fake.url}  ·  sidecar ${urls.proxy}  ·  admin ${urls.admin}`))
console.log(dim(`the apps below hold the key "placeholder"; the sidecar sends the real one\n`))

const openai = new OpenAI({ apiKey: 'placeholder', baseURL: `${urls.proxy}/openai/v1` })
const anthropic = new Anthropic({ apiKey: 'placeholder', baseURL: `${urls.proxy}/anthropic` })
const usd = (nano: number) => `$${(nano / 1e9).toFixed(6)}`

interface Row {
  provider: string
  model: string
  counters: { requests: number; inputTokens: number; outputTokens: number; costNano: number }
}
const totals = async () => (await (await fetch(`${urls.admin}/usage`)).json()) as Row[]
const sums = async () =>
  (await totals()).reduce(
    (sum, r) => ({
      input: sum.input + r.counters.inputTokens,
      output: sum.output + r.counters.outputTokens,
      cost: sum.cost + r.counters.costNano,
    }),
    { input: 0, output: 0, cost: 0 },
  )

let before = await sums()
const step = async (title: string, run: () => Promise<{ text: string; usage: string }>) => {
  const { text, usage } = await run()
  const now = await sums()
  const recorded = `sidecar recorded ${now.input - before.input} in / ${now.output - before.output} out, ${usd(now.cost - before.cost)}`
  console.log(`${bold(title)}\n  ${text.trim()}\n  ${dim(`${usage}  ·  ${recorded}`)}\n`)
  before = now
}

const history: OpenAI.Chat.ChatCompletionMessageParam[] = [
  { role: 'user', content: 'What does a toll gate do?' },
]
await step('OpenAI gpt-4o-mini, plain', async () => {
  const r = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: history })
  history.push({ role: 'assistant', content: r.choices[0]?.message.content ?? '' })
  return {
    text: r.choices[0]?.message.content ?? '',
    usage: `SDK usage ${r.usage?.prompt_tokens} in / ${r.usage?.completion_tokens} out`,
  }
})
history.push({ role: 'user', content: 'And who pays for it?' })
await step('OpenAI gpt-4o-mini, streamed', async () => {
  let text = ''
  const stream = await openai.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: history,
    stream: true,
  })
  for await (const chunk of stream) {
    const piece = chunk.choices[0]?.delta?.content ?? ''
    text += piece
  }
  return { text, usage: 'SDK saw no usage (not asked for)' }
})
await step('Anthropic claude-haiku-4-5, plain', async () => {
  const m = await anthropic.messages.create({
    model: 'claude-haiku-4-5',
    max_tokens: 200,
    messages: [{ role: 'user', content: 'Summarise the toll gate idea in one line.' }],
  })
  const text = m.content.map((b) => (b.type === 'text' ? b.text : '')).join('')
  return { text, usage: `SDK usage ${m.usage.input_tokens} in / ${m.usage.output_tokens} out` }
})
await step('Anthropic claude-haiku-4-5, streamed', async () => {
  const stream = anthropic.messages.stream({
    model: 'claude-haiku-4-5',
    max_tokens: 200,
    messages: [{ role: 'user', content: 'Now say it as a haiku.' }],
  })
  const m = await stream.finalMessage()
  const text = m.content.map((b) => (b.type === 'text' ? b.text : '')).join('')
  return { text, usage: `SDK usage ${m.usage.input_tokens} in / ${m.usage.output_tokens} out` }
})

console.log(bold('Recorded by the sidecar (admin /usage)'))
for (const r of await totals()) {
  const c = r.counters
  console.log(
    `  ${`${r.provider}/${r.model}`.padEnd(28)} ${String(c.requests).padStart(2)} calls ${String(c.inputTokens).padStart(5)} in ${String(c.outputTokens).padStart(5)} out  ${usd(c.costNano)}`,
  )
}
const metrics = await (await fetch(`${urls.admin}/metrics`)).text()
console.log(
  dim(
    `\n/metrics: ${metrics.split('\n').filter((l) => l.startsWith('tollgate_')).length} tollgate_* series, e.g.`,
  ),
)
for (const line of metrics
  .split('\n')
  .filter((l) => l.startsWith('tollgate_requests_total'))
  .slice(0, 2))
  console.log(dim(`  ${line}`))
const keyLeaked =
  out.includes(KEY) || fake.requests.some((r) => JSON.stringify(r.headers).includes('placeholder'))
console.log(
  dim(`\nkey in the sidecar's logs or placeholder at the provider: ${keyLeaked ? 'YES (bug!)' : 'no'}`),
)

sidecar.kill('SIGTERM')
await once(sidecar, 'exit')
await fake.close()
