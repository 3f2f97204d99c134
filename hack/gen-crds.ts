// Writes crds/*.yaml and api/src/validators.generated.{js,d.ts} from the schemas in api/ (the one source
// of truth). `npm run crds`.
import { writeFileSync } from 'node:fs'
import { renderCRDs } from '../api/src/crd-yaml.ts'
import { renderValidators, VALIDATORS_DTS } from '../api/src/validators-source.ts'

for (const { file, text } of renderCRDs()) {
  writeFileSync(new URL(`../crds/${file}`, import.meta.url), text)
  console.log(`wrote crds/${file}`)
}
writeFileSync(new URL('../api/src/validators.generated.js', import.meta.url), renderValidators())
writeFileSync(new URL('../api/src/validators.generated.d.ts', import.meta.url), VALIDATORS_DTS)
console.log('wrote api/src/validators.generated.js and .d.ts')
