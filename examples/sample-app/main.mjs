#!/usr/bin/env node
// A sample app that knows nothing about Tollgate. It calls OpenAI and Anthropic through their
// official SDKs with whatever OPENAI_BASE_URL, ANTHROPIC_BASE_URL, OPENAI_API_KEY and
// ANTHROPIC_API_KEY it finds (the SDKs read them; in an opted-in namespace the webhook points the
// URLs at the sidecar and sets placeholder keys), and logs one JSON line per call: status, model,
// usage, error. It never crashes on a failed call.
//
//   node main.mjs            a steady trickle: plain and streamed calls through both SDKs in turn,
//                            one every $SAMPLE_INTERVAL_SECONDS (default 5)
//   node main.mjs once --provider openai|anthropic [--stream] [--model M] [--prompt TEXT]
//                          [--max-tokens N] [--max-retries N] [--count N] [--user ID]
//                            one call (or N in a row), one JSON line each, exit 0 whatever the
//                            HTTP outcome
//
// Loop settings: SAMPLE_PROVIDERS (default "openai,anthropic"), SAMPLE_OPENAI_MODEL (gpt-4o-mini),
// SAMPLE_ANTHROPIC_MODEL (claude-haiku-4-5), SAMPLE_MAX_TOKENS (16), SAMPLE_MAX_RETRIES (the SDKs'
// default, 2), SAMPLE_TIMEOUT_SECONDS (30), SAMPLE_USERS (end users the calls name in turn, OpenAI
// `user` / Anthropic `metadata.user_id`, comma-separated; default none).
import { parseArgs } from 'node:util'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'

const env = process.env
const DEFAULT_MODELS = {
  openai: env.SAMPLE_OPENAI_MODEL || 'gpt-4o-mini',
  anthropic: env.SAMPLE_ANTHROPIC_MODEL || 'claude-haiku-4-5',
}
const USAGE = `usage: node main.mjs [once --provider openai|anthropic [--stream] [--model M] [--prompt TEXT]
                     [--max-tokens N] [--max-retries N] [--count N] [--user ID]]`

/**
 * @typedef {{ provider: 'openai' | 'anthropic', stream: boolean, model: string, prompt: string,
 *   maxTokens: number, maxRetries: number, timeoutSeconds: number, user?: string }} Call
 * @typedef {{ inputTokens: number, outputTokens: number }} Usage
 */

/** count reads a non-negative integer setting, or exits 2 naming it. */
const count = (name, value, fallback) => {
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 0) usageError(`${name} must be a non-negative integer, not ${value}`)
  return n
}

/** usageError reports a bad command line or setting and exits 2 (the only non-zero exit). */
function usageError(message) {
  process.stderr.write(`sample-app: ${message}\n${USAGE}\n`)
  process.exit(2)
}

/** openaiCall makes one chat completion; a stream asks for the usage chunk at its end. */
async function openaiCall(call) {
  const client = new OpenAI({ maxRetries: call.maxRetries, timeout: call.timeoutSeconds * 1000 })
  const messages = [{ role: 'user', content: call.prompt }]
  const params = {
    model: call.model,
    messages,
    max_completion_tokens: call.maxTokens,
    ...(call.user && { user: call.user }),
  }
  if (!call.stream) {
    const { data, response } = await client.chat.completions.create(params).withResponse()
    return { status: response.status, model: data.model, usage: openaiUsage(data.usage) }
  }
  const { data, response } = await client.chat.completions
    .create({ ...params, stream: true, stream_options: { include_usage: true } })
    .withResponse()
  let model = call.model
  let usage = null
  for await (const chunk of data) {
    model = chunk.model ?? model
    if (chunk.usage) usage = openaiUsage(chunk.usage)
  }
  return { status: response.status, model, usage }
}

const openaiUsage = (usage) =>
  usage ? { inputTokens: usage.prompt_tokens ?? 0, outputTokens: usage.completion_tokens ?? 0 } : null

/** anthropicCall makes one message; a stream's usage is message_start's input and message_delta's output. */
async function anthropicCall(call) {
  const client = new Anthropic({ maxRetries: call.maxRetries, timeout: call.timeoutSeconds * 1000 })
  const params = {
    model: call.model,
    max_tokens: call.maxTokens,
    messages: [{ role: 'user', content: call.prompt }],
    ...(call.user && { metadata: { user_id: call.user } }),
  }
  if (!call.stream) {
    const { data, response } = await client.messages.create(params).withResponse()
    const usage = { inputTokens: data.usage.input_tokens, outputTokens: data.usage.output_tokens }
    return { status: response.status, model: data.model, usage }
  }
  const { data, response } = await client.messages.create({ ...params, stream: true }).withResponse()
  let model = call.model
  let usage = null
  for await (const event of data) {
    if (event.type === 'message_start') {
      model = event.message.model
      usage = {
        inputTokens: event.message.usage.input_tokens,
        outputTokens: event.message.usage.output_tokens,
      }
    } else if (event.type === 'message_delta' && usage) {
      // message_delta carries the cumulative output count: it replaces message_start's.
      usage.outputTokens = event.usage.output_tokens
    }
  }
  return { status: response.status, model, usage }
}

/**
 * describeError turns any failure into JSON: the HTTP status, body and rate-limit headers
 * (retry-after, x-ratelimit-*) of an API error, else status 0.
 */
function describeError(error) {
  const status = typeof error?.status === 'number' ? error.status : 0
  const body = error?.error ?? null
  const headers = {}
  const all = error?.headers instanceof Headers ? error.headers : new Headers(error?.headers ?? {})
  for (const [name, value] of all)
    if (name === 'retry-after' || name.startsWith('x-ratelimit-')) headers[name] = value
  return {
    status,
    headers,
    error: { type: error?.constructor?.name ?? 'Error', message: String(error?.message ?? error), body },
  }
}

/** callOnce makes a call and always returns its JSON line's fields, never throwing. */
async function callOnce(call) {
  const started = performance.now()
  const base = {
    time: new Date().toISOString(),
    provider: call.provider,
    stream: call.stream,
    model: call.model,
  }
  try {
    const result = await (call.provider === 'openai' ? openaiCall(call) : anthropicCall(call))
    return { ...base, ...result, error: null, ms: Math.round(performance.now() - started) }
  } catch (error) {
    return { ...base, usage: null, ...describeError(error), ms: Math.round(performance.now() - started) }
  }
}

const print = (line) => process.stdout.write(`${JSON.stringify(line)}\n`)

async function once(argv) {
  let values
  try {
    values = parseArgs({
      args: argv,
      options: {
        provider: { type: 'string' },
        stream: { type: 'boolean', default: false },
        model: { type: 'string' },
        prompt: { type: 'string', default: 'Say hello.' },
        'max-tokens': { type: 'string' },
        'max-retries': { type: 'string' },
        count: { type: 'string' },
        user: { type: 'string' },
      },
      strict: true,
    }).values
  } catch (error) {
    usageError(error.message)
  }
  if (values.provider !== 'openai' && values.provider !== 'anthropic')
    usageError('--provider openai|anthropic')
  const call = {
    provider: values.provider,
    stream: values.stream,
    model: values.model ?? DEFAULT_MODELS[values.provider],
    maxTokens: count('--max-tokens', values['max-tokens'], 16),
    maxRetries: count('--max-retries', values['max-retries'], 0),
    timeoutSeconds: count('SAMPLE_TIMEOUT_SECONDS', env.SAMPLE_TIMEOUT_SECONDS, 30),
    ...(values.user && { user: values.user }),
  }
  // --count N makes N calls in a row, one line each; past the first, the prompt carries its number.
  const n = count('--count', values.count, 1)
  for (let i = 1; i <= n; i++)
    print(await callOnce({ ...call, prompt: i === 1 ? values.prompt : `${values.prompt} (${i})` }))
}

async function loop() {
  const providers = (env.SAMPLE_PROVIDERS || 'openai,anthropic').split(',').map((p) => p.trim())
  for (const p of providers)
    if (p !== 'openai' && p !== 'anthropic') usageError(`SAMPLE_PROVIDERS: unknown ${p}`)
  const intervalMs = count('SAMPLE_INTERVAL_SECONDS', env.SAMPLE_INTERVAL_SECONDS, 5) * 1000
  const settings = {
    maxTokens: count('SAMPLE_MAX_TOKENS', env.SAMPLE_MAX_TOKENS, 16),
    maxRetries: count('SAMPLE_MAX_RETRIES', env.SAMPLE_MAX_RETRIES, 2),
    timeoutSeconds: count('SAMPLE_TIMEOUT_SECONDS', env.SAMPLE_TIMEOUT_SECONDS, 30),
  }
  const users = (env.SAMPLE_USERS || '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean)
  const kinds = providers.flatMap((provider) => [false, true].map((stream) => ({ provider, stream })))
  let stopping = false
  let wake = () => {}
  const stop = () => {
    stopping = true
    wake()
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  for (let n = 0; !stopping; n++) {
    const { provider, stream } = kinds[n % kinds.length]
    const model = DEFAULT_MODELS[provider]
    print({
      call: n + 1,
      ...(await callOnce({
        provider,
        stream,
        model,
        prompt: `Say hello #${n + 1}.`,
        ...settings,
        ...(users.length > 0 && { user: users[n % users.length] }),
      })),
    })
    if (stopping) break
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, intervalMs)
      wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }
}

// A failure nobody awaited must not end the trickle either.
process.on('unhandledRejection', (reason) =>
  print({ time: new Date().toISOString(), ...describeError(reason) }),
)

const [mode, ...rest] = process.argv.slice(2)
if (mode === 'once') await once(rest)
else if (mode === undefined || mode === 'loop') await loop()
else usageError(`unknown mode ${mode}`)
