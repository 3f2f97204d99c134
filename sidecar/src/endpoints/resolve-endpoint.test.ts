import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { CompiledEndpoints, ProviderType } from '@tollgate/api'
import { describe, expect, it } from 'vitest'
import type { RuntimeProvider } from '../config/runtime-config.ts'
import { TollgateError } from '../errors.ts'
import { HeaderAllowList } from '../upstream/forwarded-headers.ts'
import { ANTHROPIC_ENDPOINTS } from './anthropic-endpoints.ts'
import { normalisePath } from './normalise-path.ts'
import { OPENAI_ENDPOINTS } from './openai-endpoints.ts'
import { resolveEndpoint } from './resolve-endpoint.ts'

const root = new URL('../../..', import.meta.url).pathname

const provider = (
  type: ProviderType,
  endpoints: Partial<CompiledEndpoints> = {},
  basePath = '',
): RuntimeProvider => ({
  name: type,
  type,
  origin: 'http://127.0.0.1:1',
  headers: {},
  forward: new HeaderAllowList(type),
  basePath,
  credentialHeader: type === 'anthropic' ? 'x-api-key' : 'authorization',
  endpoints: { batches: 'refuse', backgroundResponses: 'refuse', allow: [], ...endpoints },
})

/** decision is what the sidecar does with a call, as the table test names it. */
function decision(p: RuntimeProvider, route: string, hasBody = true): string {
  const [method, path] = route.split(' ') as [string, string]
  const r = resolveEndpoint(p, method, path, hasBody)
  if (r instanceof TollgateError) return `refused ${r.status} ${r.code}`
  return `${r.kind} ${r.name}`
}

/**
 * sdkEndpoints lists every `METHOD /path` the SDK's resources call (`{id}` for path parameters),
 * read from its JavaScript: the table is checked against the API as the lockfile's SDK knows it.
 */
function sdkEndpoints(pkg: string, prefix: string): string[] {
  const dir = join(root, 'node_modules', pkg, 'resources')
  const found = new Set<string>()
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const file = join(d, entry.name)
      if (entry.isDirectory()) walk(file)
      else if (entry.name.endsWith('.js')) {
        const text = readFileSync(file, 'utf8')
        const calls =
          /_client\.(get|post|put|patch|delete|getAPIList)\(((?:\(0, path_1\.path\) )?`[^`]+`|'[^']+')/g
        for (const m of text.matchAll(calls)) {
          const method = m[1] === 'getAPIList' ? 'GET' : (m[1] as string).toUpperCase()
          const path = (m[2] as string)
            .replace(/^\(0, path_1\.path\) /, '')
            .slice(1, -1)
            .replace(/\$\{[^}]+\}/g, '{id}')
            .replace(/\?.*$/, '')
          found.add(`${method} ${prefix}${path}`)
        }
      }
    }
  }
  walk(dir)
  return [...found].sort()
}

/** GOVERNED: what each model call and each free POST of the tables must stay. */
const EXPECTED: Record<'openai' | 'anthropic', Record<string, string>> = {
  openai: {
    'POST /v1/chat/completions': 'model chat.completions',
    'POST /v1/completions': 'model completions',
    'POST /v1/embeddings': 'model embeddings',
    'POST /v1/responses': 'model responses',
    'POST /v1/responses/compact': 'model responses.compact',
    'POST /v1/moderations': 'model moderations',
    'POST /v1/images/generations': 'model images.generations',
    'POST /v1/images/edits': 'model images.edits',
    'POST /v1/images/variations': 'model images.variations',
    'POST /v1/audio/speech': 'model audio.speech',
    'POST /v1/audio/transcriptions': 'model audio.transcriptions',
    'POST /v1/audio/translations': 'model audio.translations',
    'POST /v1/batches': 'refused 403 TOLLGATE_ERR_ENDPOINT_DISABLED',
    'POST /v1/responses/input_tokens': 'free responses.input_tokens',
    'POST /v1/responses/{id}/cancel': 'free responses.cancel',
    'POST /v1/chat/completions/{id}': 'free chat.completions.update',
    'POST /v1/batches/{id}/cancel': 'free batches.cancel',
    'GET /v1/batches/{id}': 'free batches.retrieve',
    'GET /v1/responses/{id}': 'free responses.retrieve',
    'POST /v1/files': 'free files.create',
    'POST /v1/uploads': 'free uploads.create',
    'POST /v1/uploads/{id}/parts': 'free uploads.parts',
    'POST /v1/uploads/{id}/complete': 'free uploads.complete',
    'POST /v1/uploads/{id}/cancel': 'free uploads.cancel',
    'POST /v1/conversations': 'free conversations.create',
    'POST /v1/conversations/{id}': 'free conversations.update',
    'POST /v1/conversations/{id}/items': 'free conversations.items.create',
    'POST /v1/fine_tuning/jobs/{id}/cancel': 'free fine_tuning.jobs.cancel',
    'POST /v1/fine_tuning/jobs/{id}/pause': 'free fine_tuning.jobs.pause',
  },
  anthropic: {
    'POST /v1/messages': 'model messages',
    'POST /v1/messages/count_tokens': 'free messages.count_tokens',
    'POST /v1/messages/batches': 'refused 403 TOLLGATE_ERR_ENDPOINT_DISABLED',
    'POST /v1/messages/batches/{id}/cancel': 'free messages.batches.cancel',
    'GET /v1/messages/batches/{id}/results': 'free messages.batches.results',
    'GET /v1/messages/batches': 'free messages.batches.list',
    'GET /v1/messages/batches/{id}': 'free messages.batches.retrieve',
    'POST /v1/files': 'free files.create',
  },
}

/** Routes the SDK calls through a URL an answer gives it (a message batch's `results_url`). */
const REACHED_BY_URL = ['GET /v1/messages/batches/{id}/results']

/** expectedFor is the rule for an SDK endpoint: its table entry, else reads free and the rest 404. */
const expectedFor = (type: 'openai' | 'anthropic', route: string) =>
  EXPECTED[type][route] ??
  (/^(GET|DELETE) /.test(route) ? 'free metadata' : 'refused 404 TOLLGATE_ERR_UNKNOWN_ENDPOINT')

describe.each([
  ['openai', 'openai', '/v1'],
  ['anthropic', '@anthropic-ai/sdk', ''],
] as const)('the %s endpoint table', (type, pkg, prefix) => {
  const endpoints = sdkEndpoints(pkg, prefix)

  it('reads the SDK endpoints of the lockfile', () => {
    expect(endpoints.length).toBeGreaterThan(100)
  })

  it.each(endpoints)(`%s has the decision its rule gives`, (route) => {
    const concrete = route.replaceAll('{id}', 'x_1')
    expect(decision(provider(type), concrete)).toBe(expectedFor(type, route))
  })

  it('names no route the SDK does not call', () => {
    const table = type === 'openai' ? OPENAI_ENDPOINTS : ANTHROPIC_ENDPOINTS
    expect(
      table.map(([route]) => route).filter((r) => !endpoints.includes(r) && !REACHED_BY_URL.includes(r)),
    ).toEqual([])
  })

  it('governs batches once the provider says so', () => {
    const batches = type === 'openai' ? 'POST /v1/batches' : 'POST /v1/messages/batches'
    expect(decision(provider(type, { batches: 'govern' }), batches)).toBe(
      `model ${type === 'openai' ? 'batches' : 'messages.batches'}`,
    )
  })
})

describe('openai-compatible providers', () => {
  const compat = provider('openai-compatible', {}, '/v1')
  it.each([
    ['a known path below a /v1 baseURL', 'POST /chat/completions', 'model chat.completions'],
    ['a known path with /v1 in it', 'POST /v1/chat/completions', 'model chat.completions'],
    ['a POST with a body the table does not know', 'POST /rerank', 'model allowed'],
    ['a POST without a body', 'POST /tokenize', 'free metadata'],
    ['a read', 'GET /models', 'free metadata'],
  ])('%s: %s is %s', (_name, route, expected) => {
    expect(decision(compat, route, !route.includes('tokenize'))).toBe(expected)
  })
})

describe('spec.providers[].endpoints.allow', () => {
  const allowed = provider('openai', {
    allow: [
      { method: 'POST', path: '/v1/fine_tuning/jobs', as: 'model' },
      { method: 'POST', path: '/v1/organization/*', as: 'free' },
    ],
  })
  it.each([
    ['POST /v1/fine_tuning/jobs', 'model allowed'],
    ['POST /v1/organization/projects', 'free allowed'],
    ['PUT /v1/organization/projects', 'refused 404 TOLLGATE_ERR_UNKNOWN_ENDPOINT'],
    ['POST /v1/fine_tuning/jobs/x/cancel', 'free fine_tuning.jobs.cancel'],
  ])('%s is %s', (route, expected) => {
    expect(decision(allowed, route)).toBe(expected)
  })
})

describe('normalisePath', () => {
  it.each([
    ['/v1/chat/completions', '/v1/chat/completions'],
    ['/v1/chat/completions/', '/v1/chat/completions'],
    ['/v1//chat///completions', '/v1/chat/completions'],
    ['/v1/./chat/completions', '/v1/chat/completions'],
    ['/v1/models/../chat/completions', '/v1/chat/completions'],
    ['/v1/chat/%63ompletions', '/v1/chat/completions'],
    ['/v1/chat/%2Ecompletions', '/v1/chat/.completions'],
    ['/v1/%2e%2e/v1/chat/completions', '/v1/chat/completions'],
    ['/v1/files/a%3ab', '/v1/files/a%3Ab'],
    ['', '/'],
    ['/', '/'],
  ])('%s is %s', (raw, path) => {
    expect(normalisePath(raw)).toEqual({ ok: true, path, query: '' })
  })

  it('keeps the query as it came', () => {
    expect(normalisePath('/v1/chat/completions/?api-version=2024-01-01&x=%2F')).toEqual({
      ok: true,
      path: '/v1/chat/completions',
      query: '?api-version=2024-01-01&x=%2F',
    })
  })

  it.each([
    ['an encoded slash', '/v1/chat%2Fcompletions'],
    ['an encoded slash, lower case', '/v1/chat%2fcompletions'],
    ['an encoded backslash', '/v1/chat%5Ccompletions'],
    ['a backslash', '/v1\\chat/completions'],
    ['an encoded NUL', '/v1/chat%00/completions'],
    ['a broken escape', '/v1/chat/%zzompletions'],
    ['a cut escape', '/v1/chat/completions%2'],
    ['dot-dot above the root', '/../v1/chat/completions'],
    ['an encoded dot-dot above the root', '/%2e%2e/v1/chat/completions'],
    ['a space', '/v1/chat completions'],
    ['a non-ASCII character', '/v1/chät/completions'],
    ['a fragment in the query', '/v1/chat/completions?a#b'],
  ])('refuses %s', (_name, raw) => {
    expect(normalisePath(raw).ok).toBe(false)
  })

  it.each([
    ['/v1/chat/completions/', 'POST'],
    ['/v1//chat/completions', 'POST'],
    ['/v1/./chat/completions', 'POST'],
    ['/v1/chat/%63ompletions', 'POST'],
  ])('every spelling of chat completions (%s) resolves to the governed endpoint', (raw, method) => {
    const normalised = normalisePath(raw)
    if (!normalised.ok) throw new Error(normalised.problem)
    expect(decision(provider('openai'), `${method} ${normalised.path}`)).toBe('model chat.completions')
  })
})
