// Writes crds/*.yaml from the schemas in api/ (the one source of truth). `npm run crds`.
import { writeFileSync } from 'node:fs'
import { renderCRDs } from '../api/src/crd-yaml.ts'

for (const { file, text } of renderCRDs()) {
  writeFileSync(new URL(`../crds/${file}`, import.meta.url), text)
  console.log(`wrote crds/${file}`)
}
