import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { mostSpecific } from './glob.ts'
import { compilePrice, DEFAULT_PRICES, UNPRICED_SDK_MODELS } from './prices.ts'

const root = new URL('../..', import.meta.url).pathname
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version: string }>
}

/** sdkDir is the installed SDK's folder, checked to be the version the lockfile names. */
function sdkDir(name: string): string {
  // the root's node_modules is what the lockfile installs (the SDKs are root devDependencies)
  const dir = join(root, 'node_modules', name)
  const installed = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string })
    .version
  expect(installed, `${name} installed as the lockfile says`).toBe(
    lock.packages[`node_modules/${name}`]?.version,
  )
  return dir
}

/** literals are the string members of `export type <name> = 'a' | 'b' | ...` in a type definition file. */
function literals(file: string, type: string): string[] {
  const text = readFileSync(file, 'utf8')
  const match = new RegExp(`export type ${type} = ([^;]+);`).exec(text)
  if (!match?.[1]) throw new Error(`no type ${type} in ${file}`)
  return [...match[1].matchAll(/'([^']+)'/g)].map((m) => m[1] as string)
}

const openai = sdkDir('openai')
const anthropic = sdkDir('@anthropic-ai/sdk')

/** SDK_MODELS are the chat, embedding, image and audio models the SDKs of the lockfile name, by API. */
const SDK_MODELS: [provider: 'openai' | 'anthropic', type: string, model: string][] = [
  ...(
    [
      ['resources/shared.d.ts', 'ChatModel'],
      ['resources/shared.d.ts', 'ResponsesModel'],
      ['resources/embeddings.d.ts', 'EmbeddingModel'],
      ['resources/images.d.ts', 'ImageModel'],
      ['resources/audio/speech.d.ts', 'SpeechModel'],
      ['resources/audio/audio.d.ts', 'AudioModel'],
    ] as const
  ).flatMap(([file, type]) =>
    literals(join(openai, file), type).map((m) => ['openai', type, m] as ['openai', string, string]),
  ),
  ...literals(join(anthropic, 'resources/messages/messages.d.ts'), 'Model').map(
    (m) => ['anthropic', 'Model', m] as ['anthropic', string, string],
  ),
]

describe('the price table covers the SDKs of the lockfile', () => {
  it('reads a sensible number of models from the type definitions', () => {
    expect(SDK_MODELS.length).toBeGreaterThan(100)
  })

  it.each(SDK_MODELS)('%s %s %s has a list price or is named as not priced', (provider, _type, model) => {
    const price = mostSpecific(
      DEFAULT_PRICES.filter((row) => row.provider === provider),
      (row) => row.model,
      model,
    )
    const unpriced = UNPRICED_SDK_MODELS.some((u) => u.provider === provider && u.model === model)
    // exactly one: a model named as not priced must not be priced by a glob by accident
    expect({ priced: price !== undefined, unpriced }).toEqual({ priced: !unpriced, unpriced })
  })

  it('names no model as unpriced that the SDKs no longer name', () => {
    const named = new Set(SDK_MODELS.map(([provider, , model]) => `${provider}:${model}`))
    expect(UNPRICED_SDK_MODELS.filter((u) => !named.has(`${u.provider}:${u.model}`))).toEqual([])
  })
})

describe('the rows read on 2026-12-01 compile to their list prices', () => {
  const compiled = (provider: 'openai' | 'anthropic', model: string) => {
    const row = mostSpecific(
      DEFAULT_PRICES.filter((r) => r.provider === provider),
      (r) => r.model,
      model,
    )
    if (!row) throw new Error(`no row for ${model}`)
    return compilePrice(row)
  }

  // nano-dollars per token = USD per million tokens x 1000
  it.each([
    ['anthropic', 'claude-fable-5-1', [10_000, 12_500, 20_000, 250, 50_000]],
    ['anthropic', 'claude-mythos-5', [10_000, 12_500, 20_000, 1_000, 50_000]],
    ['anthropic', 'claude-opus-5-5', [4_000, 5_000, 8_000, 200, 20_000]],
    ['anthropic', 'claude-opus-4-6', [5_000, 6_250, 10_000, 500, 25_000]],
    ['anthropic', 'claude-sonnet-5-5', [2_000, 2_500, 4_000, 100, 10_000]],
    ['anthropic', 'claude-sonnet-4-6', [3_000, 3_750, 6_000, 300, 15_000]],
    ['anthropic', 'claude-haiku-5-5', [100, 125, 200, 10, 500]],
    ['openai', 'gpt-5.6-sol', [5_000, 6_250, 5_000, 500, 30_000]],
    ['openai', 'gpt-5.6-luna', [200, 250, 200, 20, 1_200]],
    ['openai', 'gpt-5.4-nano-2026-03-17', [200, 200, 200, 20, 1_250]],
  ] as const)('%s %s: input, 5m write, 1h write, cache read, output', (provider, model, rates) => {
    const p = compiled(provider, model)
    expect([
      p.inputNano,
      p.cacheWrite5mNano ?? p.inputNano,
      p.cacheWrite1hNano ?? p.inputNano,
      p.cachedInputNano,
      p.outputNano,
    ]).toEqual(rates)
  })

  it.each([
    ['anthropic', 'claude-haiku-5-5', 100_000, [500, 625, 1_000, 50, 2_500]],
    ['openai', 'gpt-5.6-terra', 272_000, [4_000, 5_000, 4_000, 400, 18_000]],
    ['openai', 'gpt-5.4', 272_000, [5_000, 5_000, 5_000, 500, 22_500]],
  ] as const)('%s %s bills the whole call above %i input tokens at', (provider, model, above, rates) => {
    const long = compiled(provider, model).longContext
    expect(long?.aboveInputTokens).toBe(above)
    expect([
      long?.inputNano,
      long?.cacheWrite5mNano,
      long?.cacheWrite1hNano,
      long?.cachedInputNano,
      long?.outputNano,
    ]).toEqual(rates)
  })

  it('has no long-context band where the page bills the whole 1M context at one rate', () => {
    expect(compiled('anthropic', 'claude-sonnet-4-6').longContext).toBeUndefined()
    expect(compiled('anthropic', 'claude-opus-5-5').longContext).toBeUndefined()
  })
})
