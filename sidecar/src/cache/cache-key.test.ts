import { describe, expect, it } from 'vitest'
import { type CacheKeyInput, cacheDigest } from './cache-key.ts'

const base: CacheKeyInput = {
  tenant: 'acme',
  generation: 0,
  provider: 'openai',
  method: 'POST',
  route: '/v1/chat/completions',
  headers: {},
  body: Buffer.from('{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}'),
}
/** digest hashes a variant of base with its body parsed, as the body stage hands it over. */
const digest = (over: Partial<CacheKeyInput>) => {
  const input = { ...base, ...over }
  if (!('json' in over)) {
    try {
      input.json = JSON.parse(input.body.toString())
    } catch {
      input.json = undefined
    }
  }
  return cacheDigest(input)
}

describe('cacheDigest', () => {
  it('is the same for the same request with keys reordered and whitespace changed', () => {
    expect(
      digest({ body: Buffer.from('{ "messages":[{"content":"hi","role":"user"}], "model":"gpt-4o" }') }),
    ).toBe(digest({}))
  })

  it('never parses a body itself: without the parsed body the bytes are hashed', () => {
    expect(digest({ json: undefined })).not.toBe(digest({}))
    expect(digest({ json: undefined, body: Buffer.from(`{"a":${'['.repeat(100_000)}`) })).toMatch(
      /^[0-9a-f]{64}$/,
    )
  })

  it.each([
    ['another tenant', { tenant: 'globex' }],
    ['another cache generation', { generation: 1 }],
    ['another provider', { provider: 'azure' }],
    ['another route', { route: '/v1/responses' }],
    ['another method', { method: 'PUT' }],
    [
      'stream: true',
      { body: Buffer.from('{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true}') },
    ],
    [
      'a user field',
      { body: Buffer.from('{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"user":"u1"}') },
    ],
    [
      'another message order',
      { body: Buffer.from('{"messages":[{"content":"hi","role":"user"}],"model":"gpt-4o-mini"}') },
    ],
    ['an anthropic-version header', { headers: { 'anthropic-version': '2023-06-01' } }],
    ['an anthropic-beta header', { headers: { 'anthropic-beta': ['a', 'b'] } }],
    ['an openai-beta header', { headers: { 'openai-beta': 'assistants=v2' } }],
    ['a variant (usage chunk cut out)', { variant: 'strip-usage' }],
  ] as const)('differs for %s', (_, over) => {
    expect(digest(over as Partial<CacheKeyInput>)).not.toBe(digest({}))
  })

  it('ignores headers that do not change the answer', () => {
    expect(digest({ headers: { authorization: 'Bearer x', 'user-agent': 'sdk', 'x-request-id': '1' } })).toBe(
      digest({}),
    )
  })

  it('hashes a body that is not JSON as raw bytes', () => {
    expect(digest({ body: Buffer.from('not json') })).not.toBe(digest({ body: Buffer.from('not  json') }))
    expect(digest({ body: Buffer.from('not json') })).toMatch(/^[0-9a-f]{64}$/)
  })

  it('keeps the keys of earlier releases, so entries in Redis stay readable across an upgrade', () => {
    const over = { generation: 3, method: 'post', headers: { 'anthropic-beta': ['a', 'b'] } }
    const small =
      '{"model":"gpt-4o","messages":[{"role":"user","content":"hi ✓"}],"n":1.0,"x":{"b":[1,{"z":null,"a":"\\u0000"}],"a":true}}'
    const big = JSON.stringify({
      model: 'm',
      messages: [
        { role: 'user', content: 'x'.repeat(100_000) },
        { role: 'user', content: 'y' },
      ],
    })
    // the digests of the release before the key was hashed in one call
    expect(digest({ ...over, body: Buffer.from(small) })).toBe(
      'a717da3ac221376318e00812ad916974954b187744b484c4376c935f6d1cbcc8',
    )
    expect(digest({ ...over, body: Buffer.from(big) })).toBe(
      '42a00c1a665dd2d48a7c655a7a16288315f976a3b5d23273b90ee8ab281cd611',
    )
    expect(digest({ ...over, body: Buffer.from('not json') })).toBe(
      '0abaa7cd82a5864c6ab711edb6580197b2c57103be4121ece555e47e9c164d2f',
    )
  })

  it('is the same for a long body with keys reordered (hashed in pieces)', () => {
    const content = 'z'.repeat(70_000)
    const a = JSON.stringify({
      model: 'm',
      messages: [
        { role: 'user', content },
        { role: 'user', content: 'q' },
      ],
    })
    const b = JSON.stringify({
      messages: [
        { content, role: 'user' },
        { content: 'q', role: 'user' },
      ],
      model: 'm',
    })
    expect(digest({ body: Buffer.from(b) })).toBe(digest({ body: Buffer.from(a) }))
    expect(digest({ body: Buffer.from(a.replace('"q"', '"r"')) })).not.toBe(digest({ body: Buffer.from(a) }))
  })
})
