import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './harness.ts'

let h: Harness
let suspended: Harness
beforeAll(async () => {
  h = await startHarness({
    flags: ['--max-body-bytes', '65536'],
    spec: ['models: { allow: ["gpt-4o*", "claude-haiku-*"], deny: ["gpt-4o-audio*"] }'],
    providers: ['{ name: dead, type: openai-compatible, baseURL: "http://127.0.0.1:1" }'],
    extra: [
      'apiVersion: tollgate.dev/v1alpha1',
      'kind: RateLimitPolicy',
      'metadata: { name: fast-timeouts }',
      'spec:',
      '  targetRefs: [{ kind: Tenant, name: acme }]',
      '  timeouts: { connect: 1s, firstByte: 500ms, streamIdle: 500ms }',
    ].join('\n'),
  })
  suspended = await startHarness({ tenant: 'frozen', spec: ['suspended: true'], fake: h.fake })
})
afterAll(async () => {
  await suspended?.close()
  await h?.close()
})

const OPENAI = '/openai/v1/chat/completions'
const ANTHROPIC = '/anthropic/v1/messages'
const json = { 'content-type': 'application/json' }
const anthropicHeaders = { ...json, 'anthropic-version': '2023-06-01' }
const big = 'x'.repeat(70_000)

interface Case {
  name: string
  path: string
  headers: Record<string, string>
  body: string
  status: number
  code: string
  shape: 'openai' | 'anthropic'
  type: string
  on?: 'suspended'
}

const cases: Case[] = [
  {
    name: 'malformed JSON',
    path: OPENAI,
    headers: json,
    body: '{"model":',
    status: 400,
    code: 'TOLLGATE_ERR_INVALID_JSON',
    shape: 'openai',
    type: 'invalid_request_error',
  },
  {
    name: 'malformed JSON',
    path: ANTHROPIC,
    headers: anthropicHeaders,
    body: '{"model":',
    status: 400,
    code: 'TOLLGATE_ERR_INVALID_JSON',
    shape: 'anthropic',
    type: 'invalid_request_error',
  },
  {
    name: 'a JSON array',
    path: OPENAI,
    headers: json,
    body: '[1]',
    status: 400,
    code: 'TOLLGATE_ERR_INVALID_JSON',
    shape: 'openai',
    type: 'invalid_request_error',
  },
  {
    name: 'a body over the limit',
    path: OPENAI,
    headers: json,
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: big }] }),
    status: 413,
    code: 'TOLLGATE_ERR_BODY_TOO_LARGE',
    shape: 'openai',
    type: 'invalid_request_error',
  },
  {
    name: 'a body over the limit',
    path: ANTHROPIC,
    headers: anthropicHeaders,
    body: JSON.stringify({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: big }] }),
    status: 413,
    code: 'TOLLGATE_ERR_BODY_TOO_LARGE',
    shape: 'anthropic',
    type: 'request_too_large',
  },
  {
    name: 'an unknown provider',
    path: '/nope/v1/chat/completions',
    headers: json,
    body: '{}',
    status: 404,
    code: 'TOLLGATE_ERR_UNKNOWN_PROVIDER',
    shape: 'openai',
    type: 'invalid_request_error',
  },
  {
    name: 'an unknown provider',
    path: '/nope/v1/messages',
    headers: anthropicHeaders,
    body: '{}',
    status: 404,
    code: 'TOLLGATE_ERR_UNKNOWN_PROVIDER',
    shape: 'anthropic',
    type: 'not_found_error',
  },
  {
    name: 'no model',
    path: OPENAI,
    headers: json,
    body: '{"messages":[]}',
    status: 400,
    code: 'TOLLGATE_ERR_MODEL_REQUIRED',
    shape: 'openai',
    type: 'invalid_request_error',
  },
  {
    name: 'no model',
    path: ANTHROPIC,
    headers: anthropicHeaders,
    body: '{"max_tokens":5,"messages":[]}',
    status: 400,
    code: 'TOLLGATE_ERR_MODEL_REQUIRED',
    shape: 'anthropic',
    type: 'invalid_request_error',
  },
  {
    name: 'a model outside the allow list',
    path: OPENAI,
    headers: json,
    body: '{"model":"gpt-5","messages":[]}',
    status: 403,
    code: 'TOLLGATE_ERR_MODEL_NOT_ALLOWED',
    shape: 'openai',
    type: 'permission_error',
  },
  {
    name: 'a denied model',
    path: OPENAI,
    headers: json,
    body: '{"model":"gpt-4o-audio-preview","messages":[]}',
    status: 403,
    code: 'TOLLGATE_ERR_MODEL_NOT_ALLOWED',
    shape: 'openai',
    type: 'permission_error',
  },
  {
    name: 'a model outside the allow list',
    path: ANTHROPIC,
    headers: anthropicHeaders,
    body: '{"model":"claude-opus-4-5","max_tokens":5,"messages":[]}',
    status: 403,
    code: 'TOLLGATE_ERR_MODEL_NOT_ALLOWED',
    shape: 'anthropic',
    type: 'permission_error',
  },
  {
    name: 'a suspended tenant',
    path: OPENAI,
    headers: json,
    body: '{"model":"gpt-4o","messages":[]}',
    status: 403,
    code: 'TOLLGATE_ERR_TENANT_SUSPENDED',
    shape: 'openai',
    type: 'permission_error',
    on: 'suspended',
  },
  {
    name: 'a suspended tenant',
    path: ANTHROPIC,
    headers: anthropicHeaders,
    body: '{"model":"claude-haiku-4-5","max_tokens":5,"messages":[]}',
    status: 403,
    code: 'TOLLGATE_ERR_TENANT_SUSPENDED',
    shape: 'anthropic',
    type: 'permission_error',
    on: 'suspended',
  },
  {
    name: 'an unreachable provider',
    path: '/dead/v1/chat/completions',
    headers: json,
    body: '{"model":"gpt-4o","messages":[]}',
    status: 502,
    code: 'TOLLGATE_ERR_UPSTREAM_CONNECT',
    shape: 'openai',
    type: 'server_error',
  },
  {
    name: 'no first byte in time',
    path: OPENAI,
    headers: { ...json, 'x-fake-delay-ms': '3000' },
    body: '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}',
    status: 504,
    code: 'TOLLGATE_ERR_UPSTREAM_FIRST_BYTE_TIMEOUT',
    shape: 'openai',
    type: 'timeout_error',
  },
  {
    name: 'no first byte in time',
    path: ANTHROPIC,
    headers: { ...anthropicHeaders, 'x-fake-delay-ms': '3000' },
    body: '{"model":"claude-haiku-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}',
    status: 504,
    code: 'TOLLGATE_ERR_UPSTREAM_FIRST_BYTE_TIMEOUT',
    shape: 'anthropic',
    type: 'timeout_error',
  },
]

describe('bad input and failures are answered in the provider shape', () => {
  it.each(cases)('$name at $path: $status $code', async (c) => {
    const base = (c.on === 'suspended' ? suspended : h).sidecar.proxyUrl
    const res = await fetch(`${base}${c.path}`, { method: 'POST', headers: c.headers, body: c.body })
    expect(res.status).toBe(c.status)
    expect(res.headers.get('x-tollgate-error-code')).toBe(c.code)
    expect(res.headers.get('x-request-id')).toBe(res.headers.get('x-tollgate-request-id'))
    expect(res.headers.get('x-request-id')).toBeTruthy()
    const body = (await res.json()) as Record<string, Record<string, unknown>>
    if (c.shape === 'openai') {
      expect(body).toEqual({
        error: {
          message: expect.any(String),
          type: c.type,
          code: c.code,
          param: expect.toSatisfy((p) => p === null || p === 'model'),
        },
      })
    } else {
      expect(body).toMatchObject({ type: 'error', error: { type: c.type, message: expect.any(String) } })
    }
  })

  it('names the limit in the message of a body over it', async () => {
    const res = await fetch(`${h.sidecar.proxyUrl}${OPENAI}`, { method: 'POST', headers: json, body: big })
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/65536 bytes/)
  })

  it('passes a provider error status through as the provider sent it, retry-after included', async () => {
    const res = await fetch(`${h.sidecar.proxyUrl}${OPENAI}`, {
      method: 'POST',
      headers: { ...json, 'x-fake-fail': '429', 'x-fake-retry-after': '7' },
      body: '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}',
    })
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('7')
    expect(res.headers.get('x-tollgate-error-code')).toBeNull()
    expect(await res.json()).toMatchObject({ error: { type: expect.any(String) } })
    const metrics = await (await fetch(`${h.sidecar.adminUrl}/metrics`)).text()
    expect(metrics).toMatch(/tollgate_upstream_errors_total\{[^}]*reason="http_429"[^}]*\} [1-9]/)
  })

  it('ends an OpenAI stream that goes idle with an error the SDK raises', async () => {
    const client = new OpenAI({ apiKey: 'x', baseURL: `${h.sidecar.proxyUrl}/openai/v1`, maxRetries: 0 })
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-fake-stall-after': '2' } },
    )
    let text = ''
    const read = async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
    }
    await expect(read()).rejects.toMatchObject({ code: 'TOLLGATE_ERR_UPSTREAM_IDLE_TIMEOUT' })
    expect(text.length).toBeGreaterThan(0)
  })

  it('ends an Anthropic stream cut by the provider with an error event the SDK raises', async () => {
    const client = new Anthropic({ apiKey: 'x', baseURL: `${h.sidecar.proxyUrl}/anthropic`, maxRetries: 0 })
    const stream = client.messages.stream(
      { model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-fake-cut-after': '2' } },
    )
    await expect(stream.finalMessage()).rejects.toMatchObject({
      error: { type: 'error', error: { type: 'api_error', code: 'TOLLGATE_ERR_UPSTREAM_RESET' } },
    })
  })
})
