import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { mostSpecific } from './glob.ts'
import { DEFAULT_PRICES, UNPRICED_SDK_MODELS } from './prices.ts'

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
