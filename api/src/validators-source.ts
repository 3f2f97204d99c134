import { Ajv } from 'ajv'
import standalone from 'ajv/dist/standalone/index.js'
import { openAPISchema, STANDALONE_KINDS } from './crd.ts'

/** OPTIONS are the Ajv options the generated validators are compiled with. */
const OPTIONS = {
  allErrors: true,
  strict: false,
  useDefaults: true,
  code: { source: true, esm: true },
} as const

/**
 * renderValidators returns the source of `validators.generated.js`: Ajv validators for each kind,
 * compiled ahead of time (compiling them at start cost the standalone sidecar ~120 ms), and the
 * whole-object schemas the validator walks for unknown fields and CEL rules. `npm run crds`
 * writes it; a test fails when it is stale.
 */
export function renderValidators(): string {
  const ajv = new Ajv(OPTIONS)
  // Formats are documentation here: each such field also carries the pattern that checks it.
  for (const format of ['duration', 'int64', 'int32', 'date-time']) ajv.addFormat(format, true)
  const schemas = Object.fromEntries(STANDALONE_KINDS.map((info) => [info.kind, openAPISchema(info)]))
  for (const [kind, schema] of Object.entries(schemas)) ajv.addSchema(schema, kind)
  const code = standalone.default(ajv, Object.fromEntries(STANDALONE_KINDS.map((k) => [k.kind, k.kind])))
  return [
    '// Generated from api/src by `npm run crds`. Do not edit. Plain JavaScript: type stripping this',
    '// much code at every start would cost more than compiling the schemas did.',
    // Ajv's ESM output still `require`s one runtime helper.
    "import { createRequire } from 'node:module'",
    'const require = createRequire(import.meta.url)',
    code,
    `export const schemas = ${JSON.stringify(schemas)};`,
    '',
  ].join('\n')
}

/** VALIDATORS_DTS is the checked-in declaration of validators.generated.js. */
export const VALIDATORS_DTS = `// Generated from api/src by \`npm run crds\`. Do not edit.
import type { ErrorObject } from 'ajv'

type Validate = ((doc: unknown) => boolean) & { errors?: ErrorObject[] | null }
export declare const Tenant: Validate
export declare const RateLimitPolicy: Validate
export declare const schemas: { Tenant: Record<string, unknown>; RateLimitPolicy: Record<string, unknown> }
`
