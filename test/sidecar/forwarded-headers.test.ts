import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, PLACEHOLDER_KEY, startHarness } from './harness.ts'

// What the sidecar forwards. The attack of issue 11: an app chooses the OpenAI organization or
// project its calls are billed to (OpenAI-Organization, OpenAI-Project), or smuggles any header the
// provider acts on. The official SDK sends them the way an app would.
let h: Harness

beforeAll(async () => {
  h = await startHarness({
    providers: [
      '{ name: billed, type: openai, baseURL: "http://FAKE", organization: org-tenant, project: proj_tenant }',
    ],
  })
})
afterAll(async () => {
  await h?.close()
})

const sdk = (provider: string) =>
  new OpenAI({
    apiKey: PLACEHOLDER_KEY,
    baseURL: `${h.sidecar.proxyUrl}/${provider}/v1`,
    organization: 'org-chosen-by-the-app',
    project: 'proj_chosen_by_the_app',
    maxRetries: 0,
    defaultHeaders: {
      'api-key': 'sk-app-azure-style',
      'x-internal-route': 'admin',
      cookie: 'session=1',
      'openai-beta': 'assistants=v2',
    },
  })
const ask = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'who pays?' }] }

describe('headers from the app', () => {
  it("bill the Tenant's organization and project, never the app's", async () => {
    await sdk('billed').chat.completions.create(ask)
    const seen = h.fake.requests.at(-1)?.headers ?? {}
    expect(seen['openai-organization']).toBe('org-tenant')
    expect(seen['openai-project']).toBe('proj_tenant')
  })

  it('send no organization or project at all where the Tenant names none', async () => {
    await sdk('openai').chat.completions.create(ask)
    const seen = h.fake.requests.at(-1)?.headers ?? {}
    expect(seen['openai-organization']).toBeUndefined()
    expect(seen['openai-project']).toBeUndefined()
  })

  it("pass the SDK's own headers and drop everything else", async () => {
    await sdk('openai').chat.completions.create(ask)
    const seen = h.fake.requests.at(-1)?.headers ?? {}
    expect(seen['openai-beta']).toBe('assistants=v2')
    expect(seen['x-stainless-lang']).toBe('js')
    expect(seen['content-type']).toBe('application/json')
    for (const dropped of ['api-key', 'x-internal-route', 'cookie'])
      expect(seen[dropped], dropped).toBeUndefined()
  })
})
