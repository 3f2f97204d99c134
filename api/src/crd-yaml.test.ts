import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { renderCRDs } from './crd-yaml.ts'

describe('crds/', () => {
  it.each(renderCRDs())(
    '$file is what api/ generates (run `npm run crds` after changing the schemas)',
    ({ file, text }) => {
      const checkedIn = readFileSync(new URL(`../../crds/${file}`, import.meta.url), 'utf8')
      expect(checkedIn).toBe(text)
    },
  )
})
