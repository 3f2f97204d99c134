import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { KINDS, openAPISchema } from './crd.ts'
import { renderCRDs } from './crd-yaml.ts'
import { renderValidators, VALIDATORS_DTS } from './validators-source.ts'

describe('crds/', () => {
  it.each(renderCRDs())(
    '$file is what api/ generates (run `npm run crds` after changing the schemas)',
    ({ file, text }) => {
      const checkedIn = readFileSync(new URL(`../../crds/${file}`, import.meta.url), 'utf8')
      expect(checkedIn).toBe(text)
    },
  )
})

describe('the CRD schemas', () => {
  /** undocumented lists the paths of schema properties that have no description. */
  const undocumented = (schema: Record<string, unknown>, path: string): string[] => {
    const missing = path && !schema.description ? [path] : []
    const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>
    const items = schema.items as Record<string, unknown> | undefined
    return [
      ...missing,
      ...Object.entries(props).flatMap(([key, child]) => undocumented(child, `${path}.${key}`)),
      ...(items && items.type === 'object' ? undocumented(items, `${path}[]`) : []),
    ]
  }

  it.each(KINDS)('describe every field of $kind', (info) => {
    const schema = openAPISchema(info) as { properties: Record<string, Record<string, unknown>> }
    const { metadata, ...rest } = schema.properties
    expect(metadata).toEqual({ type: 'object' })
    expect(Object.entries(rest).flatMap(([key, child]) => undocumented(child, key))).toEqual([])
  })
})

describe('api/src/validators.generated.{js,d.ts}', () => {
  it('are what api/ generates (run `npm run crds` after changing the schemas)', () => {
    expect(readFileSync(new URL('./validators.generated.js', import.meta.url), 'utf8')).toBe(
      renderValidators(),
    )
    expect(readFileSync(new URL('./validators.generated.d.ts', import.meta.url), 'utf8')).toBe(VALIDATORS_DTS)
  })
})
