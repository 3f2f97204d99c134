import { request } from 'node:http'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, PLACEHOLDER_KEY, startHarness } from './harness.ts'
import { freshMinute, uniqueTenant } from './policy.ts'

// Every path that can cost money is governed (limited, counted) or refused; the path the sidecar
// decides on is the path it sends upstream. Black-box through a standalone sidecar and the fake.

const chatBody = (model = 'gpt-4o-mini') =>
  JSON.stringify({ model, messages: [{ role: 'user', content: 'Tell me about toll gates.' }] })

let h: Harness
beforeAll(async () => {
  h = await startHarness({
    tenant: 'paths',
    spec: ['limits: { requestsPerMinute: 1000 }'],
    providers: ['{ name: compat, type: openai-compatible, baseURL: "http://FAKE" }'],
  })
})
afterAll(async () => {
  await h?.close()
})

/** oneAMinute is a sidecar of its own tenant that admits one call a minute, on the shared fake. */
const oneAMinute = () =>
  startHarness({
    tenant: uniqueTenant('one-a-minute'),
    fake: h.fake,
    spec: ['limits: { requestsPerMinute: 1 }'],
    providers: ['{ name: compat, type: openai-compatible, baseURL: "http://FAKE" }'],
  })

const post = (base: Harness, path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  fetch(`${base.sidecar.proxyUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${PLACEHOLDER_KEY}`, ...headers },
    body,
  })

/**
 * rawPost sends the path exactly as written: fetch (WHATWG URL) would resolve dot segments and
 * turn backslashes into slashes before sending, as a hostile client does not.
 */
const rawPost = (base: Harness, path: string, body: string) =>
  new Promise<Response>((resolve, reject) => {
    const target = new URL(base.sidecar.proxyUrl)
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${PLACEHOLDER_KEY}` },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const headers = new Headers()
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v)
          resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers }))
        })
      },
    )
    req.on('error', reject)
    req.end(body)
  })

const errorOf = async (response: Response) => {
  const body = (await response.json()) as { error: { code?: string; message: string } }
  return { status: response.status, code: body.error.code, message: body.error.message }
}

describe('one normalised path decides and goes upstream', () => {
  it.each([
    ['a trailing slash', '/openai/v1/chat/completions/'],
    ['a doubled slash', '/openai/v1//chat/completions'],
    ['a dot segment', '/openai/v1/./chat/completions'],
    ['a segment and its dot-dot', '/openai/v1/models/../chat/completions'],
    ['a percent-encoded letter', '/openai/v1/chat/%63ompletions'],
  ])(
    '%s is the chat completions endpoint: limited, counted and sent as /v1/chat/completions',
    async (_name, path) => {
      const before = h.usage('openai', 'gpt-4o-mini')
      const response = await post(h, path, chatBody())
      expect(response.status).toBe(200)
      // it passed the limits: the sidecar reports the limit it counted the call in
      expect(response.headers.get('x-ratelimit-limit-requests')).toBe('1000')
      expect(h.fake.requests.at(-1)?.path).toBe('/v1/chat/completions')
      const after = h.usage('openai', 'gpt-4o-mini')
      expect(after.requests - (before.requests ?? 0)).toBe(1)
      expect(after.costNano - (before.costNano ?? 0)).toBeGreaterThan(0)
    },
  )

  it.each([
    ['an encoded slash', '/openai/v1/chat%2Fcompletions'],
    ['an encoded backslash', '/openai/v1/chat%5Ccompletions'],
    ['a backslash', '/openai/v1\\chat/completions'],
    ['dot-dot above the root', '/openai/../../v1/chat/completions'],
    ['a broken escape', '/openai/v1/chat/%zzompletions'],
  ])('%s is ambiguous: 400 in the provider shape, nothing sent', async (_name, path) => {
    const sent = h.fake.requests.length
    const error = await errorOf(await rawPost(h, path, chatBody()))
    expect([error.status, error.code]).toEqual([400, 'TOLLGATE_ERR_INVALID_PATH'])
    expect(h.fake.requests.length).toBe(sent)
  })
})

describe('billable endpoints beyond chat are governed', () => {
  const twice = async (path: string, body: string) => {
    const limited = await oneAMinute()
    try {
      const sent = h.fake.requests.length
      const first = await post(limited, path, body)
      const second = await post(limited, path, body)
      return [
        first.status,
        second.status,
        second.headers.get('x-tollgate-error-code'),
        h.fake.requests.length - sent,
      ]
    } finally {
      await limited.close()
    }
  }

  it.each([
    ['image generations', '/openai/v1/images/generations', { model: 'dall-e-3', prompt: 'a toll gate' }, 200],
    ['speech', '/openai/v1/audio/speech', { model: 'tts-1', input: 'a toll gate', voice: 'alloy' }, 200],
    // the fake knows no rerank route and answers 404: the call reached it, counted, the second did not
    [
      'an openai-compatible POST the table does not know',
      '/compat/v1/rerank',
      { model: 'gpt-4o-mini', query: 'toll', documents: ['gate'] },
      404,
    ],
  ])('%s: the second call of the minute is refused', async (_name, path, body, status) => {
    await freshMinute()
    expect(await twice(path, JSON.stringify(body))).toEqual([status, 429, 'TOLLGATE_ERR_QUOTA_EXCEEDED', 1])
  })

  it('a transcription (multipart) is limited by its model', async () => {
    await freshMinute()
    const limited = await oneAMinute()
    try {
      const form = new FormData()
      form.set('model', 'whisper-1')
      form.set('file', new Blob([Buffer.alloc(32_000)], { type: 'audio/mpeg' }), 'toll.mp3')
      const send = () =>
        fetch(`${limited.sidecar.proxyUrl}/openai/v1/audio/transcriptions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${PLACEHOLDER_KEY}` },
          body: form,
        })
      const first = await send()
      const second = await send()
      expect([first.status, second.status]).toEqual([200, 429])
    } finally {
      await limited.close()
    }
  })
})

describe('an openai-compatible POST the table does not know', () => {
  it('must name a model, and the refusal says how to pass a free one', async () => {
    const sent = h.fake.requests.length
    const error = await errorOf(await post(h, '/compat/v1/tokenize', JSON.stringify({ prompt: 'toll' })))
    expect([error.status, error.code]).toEqual([400, 'TOLLGATE_ERR_MODEL_REQUIRED'])
    expect(error.message).toContain('spec.providers[].endpoints.allow')
    expect(h.fake.requests.length).toBe(sent)
  })
})

describe('endpoints refused by default name the setting that enables them', () => {
  it.each([
    [
      'OpenAI batches',
      '/openai/v1/batches',
      { input_file_id: 'file-1', endpoint: '/v1/chat/completions' },
      'batches',
    ],
    [
      'Anthropic message batches',
      '/anthropic/v1/messages/batches',
      { requests: [{ custom_id: 'a', params: { model: 'claude-haiku-4-5', max_tokens: 10, messages: [] } }] },
      'batches',
    ],
    [
      'background Responses',
      '/openai/v1/responses',
      { model: 'gpt-4o-mini', input: 'toll', background: true },
      'backgroundResponses',
    ],
  ])('%s: 403, nothing sent', async (_name, path, body, setting) => {
    const sent = h.fake.requests.length
    const response = await post(h, path, JSON.stringify(body), { 'anthropic-version': '2023-06-01' })
    expect(response.status).toBe(403)
    expect(response.headers.get('x-tollgate-error-code')).toBe('TOLLGATE_ERR_ENDPOINT_DISABLED')
    expect(await response.text()).toContain(`spec.providers[].endpoints.${setting}`)
    expect(h.fake.requests.length).toBe(sent)
  })

  it('a path the OpenAI table does not know: 404 naming spec.providers[].endpoints.allow', async () => {
    const sent = h.fake.requests.length
    const error = await errorOf(
      await post(h, '/openai/v1/fine_tuning/jobs', JSON.stringify({ model: 'gpt-4o-mini' })),
    )
    expect(error.status).toBe(404)
    expect(error.code).toBe('TOLLGATE_ERR_UNKNOWN_ENDPOINT')
    expect(error.message).toContain('spec.providers[].endpoints.allow')
    expect(h.fake.requests.length).toBe(sent)
  })

  it('free metadata calls pass: the model list', async () => {
    const response = await fetch(`${h.sidecar.proxyUrl}/openai/v1/models`, {
      headers: { authorization: `Bearer ${PLACEHOLDER_KEY}` },
    })
    expect(response.status).toBe(200)
  })
})

describe('batches, once enabled, pass the model rules and the budget', () => {
  let batches: Harness
  beforeAll(async () => {
    batches = await startHarness({
      tenant: 'batches',
      spec: ['models: { deny: ["claude-opus-*"] }', 'budgets: [{ period: day, limitUSD: "100" }]'],
      providers: [
        '{ name: claude, type: anthropic, baseURL: "http://FAKE", endpoints: { batches: govern }, credentialsSecretRef: { namespace: tollgate-system, name: anthropic-key, key: apiKey } }',
        '{ name: oai, type: openai, baseURL: "http://FAKE", endpoints: { batches: govern } }',
      ],
    })
  })
  afterAll(async () => batches?.close())

  const batch = (model: string) =>
    post(
      batches,
      '/claude/v1/messages/batches',
      JSON.stringify({
        requests: [1, 2].map((i) => ({
          custom_id: `r${i}`,
          params: {
            model,
            max_tokens: 1000,
            messages: [{ role: 'user', content: 'Tell me about toll gates.' }],
          },
        })),
      }),
      { 'anthropic-version': '2023-06-01' },
    )

  it('refuses a batch naming a denied model', async () => {
    const response = await batch('claude-opus-4-5')
    expect(response.status).toBe(403)
    expect(response.headers.get('x-tollgate-error-code')).toBe('TOLLGATE_ERR_MODEL_NOT_ALLOWED')
  })

  /** submit uploads a JSONL input file through the sidecar and creates an OpenAI batch of it. */
  const submit = async (models: string[]) => {
    const client = new OpenAI({
      apiKey: PLACEHOLDER_KEY,
      baseURL: `${batches.sidecar.proxyUrl}/oai/v1`,
      maxRetries: 0,
    })
    const lines = models.map((model, i) =>
      JSON.stringify({
        custom_id: `r${i}`,
        method: 'POST',
        url: '/v1/chat/completions',
        body: {
          model,
          max_completion_tokens: 500,
          messages: [{ role: 'user', content: 'Tell me about toll gates.' }],
        },
      }),
    )
    const file = await client.files.create({
      file: new File([`${lines.join('\n')}\n`], 'batch.jsonl'),
      purpose: 'batch',
    })
    return client.batches
      .create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })
      .then(
        () => ({ status: 200 }),
        (e: InstanceType<typeof OpenAI.APIError>) => ({ status: e.status, code: e.code }),
      )
  }

  it('charges an OpenAI batch the estimate of every request of its input file, at the batch price', async () => {
    const before = batches.usage('oai', 'gpt-4o-mini')
    expect(await submit(['gpt-4o-mini', 'gpt-4o-mini', 'gpt-4o-mini'])).toEqual({ status: 200 })
    const after = batches.usage('oai', 'gpt-4o-mini')
    expect(after.requests - (before.requests ?? 0)).toBe(1)
    expect(after.outputTokens - (before.outputTokens ?? 0)).toBe(1500)
    // gpt-4o-mini output is $0.60 per million, halved: 1500 tokens cost at least 450,000 nano-dollars
    expect(after.costNano - (before.costNano ?? 0)).toBeGreaterThanOrEqual(1500 * 300)
  })

  it('refuses an OpenAI batch whose input file names a denied model, or two models', async () => {
    expect(await submit(['claude-opus-4-5'])).toEqual({ status: 403, code: 'TOLLGATE_ERR_MODEL_NOT_ALLOWED' })
    expect(await submit(['gpt-4o-mini', 'gpt-4.1-mini'])).toEqual({
      status: 400,
      code: 'TOLLGATE_ERR_BATCH_INPUT_UNREADABLE',
    })
  })

  it('charges an allowed batch its estimate at the batch price (half the list price)', async () => {
    const response = await batch('claude-haiku-4-5')
    expect(response.status).toBe(200)
    // two requests of at most 1000 output tokens at $5 per million, halved: at least $0.005
    const usage = batches.usage('claude', 'claude-haiku-4-5')
    expect(usage.requests).toBe(1)
    expect(usage.outputTokens).toBe(2000)
    expect(usage.costNano).toBeGreaterThanOrEqual(2000 * 2500)
  })
})
