import { evaluate } from '@marcbachmann/cel-js'
import type { ErrorObject } from 'ajv'
import { API_VERSION } from './resources.ts'
import { RateLimitPolicy, schemas, Tenant } from './validators.generated.js'

/**
 * validateResource checks a Tenant or RateLimitPolicy document the way the API server does when
 * the CRDs are installed: the OpenAPI schema (types, enums, bounds, patterns), unknown fields
 * (kubectl's strict field validation) and the CEL rules, evaluated from the same rule text. It
 * returns one `field: message` line per problem, empty when the document is valid. Defaults from
 * the schema are filled in, as the API server would.
 */
export function validateResource(doc: unknown): string[] {
  if (!isObject(doc)) return ['document: must be an object']
  if (doc.apiVersion !== API_VERSION) return [`apiVersion: must be ${API_VERSION}`]
  const entry = VALIDATORS.get(String(doc.kind))
  if (!entry) return [`kind: must be one of ${[...VALIDATORS.keys()].join(', ')}`]
  const metadata = doc.metadata
  if (!isObject(metadata) || typeof metadata.name !== 'string' || metadata.name === '') {
    return ['metadata.name: Required value']
  }
  const problems: string[] = []
  if (!entry.validate(doc)) problems.push(...(entry.validate.errors ?? []).map(describe))
  walk(entry.schema, doc, '', problems)
  return [...new Set(problems)]
}

type Schema = Record<string, unknown>
type Rule = { rule: string; message: string; fieldPath?: string }

/** Validators compiled ahead of time by `npm run crds` (validators.generated.js). */
type ValidateFunction = typeof Tenant

const VALIDATORS = new Map<string, { validate: ValidateFunction; schema: Schema }>([
  ['Tenant', { validate: Tenant, schema: schemas.Tenant }],
  ['RateLimitPolicy', { validate: RateLimitPolicy, schema: schemas.RateLimitPolicy }],
])

function describe(error: ErrorObject): string {
  const field = pathOf(error.instancePath)
  switch (error.keyword) {
    case 'required':
      return `${join(field, String(error.params.missingProperty))}: Required value`
    case 'enum':
      return `${field}: Unsupported value: supported values: ${(error.params.allowedValues as string[]).map((v) => `"${v}"`).join(', ')}`
    default:
      return `${field}: Invalid value: ${error.message}`
  }
}

/** walk reports unknown fields and evaluates CEL rules bottom-up, as the API server does. */
function walk(schema: Schema, value: unknown, path: string, problems: string[]): void {
  const props = schema.properties as Record<string, Schema> | undefined
  if (isObject(value) && props) {
    for (const [key, child] of Object.entries(value)) {
      const childSchema = props[key]
      if (!childSchema) {
        if (path !== '.metadata' && !(path === '' && key === 'metadata'))
          problems.push(`${join(path, key)}: unknown field`)
        continue
      }
      if (key !== 'metadata') walk(childSchema, child, join(path, key), problems)
    }
  }
  const items = schema.items as Schema | undefined
  if (Array.isArray(value) && items) {
    for (const [i, item] of value.entries()) walk(items, item, `${path}[${i}]`, problems)
    duplicates(schema, value, path, problems)
  }
  for (const rule of (schema['x-kubernetes-validations'] as Rule[] | undefined) ?? []) {
    let ok: unknown
    try {
      ok = evaluate(rule.rule, { self: value })
    } catch {
      ok = false // a rule that cannot be evaluated on malformed input is a failed rule
    }
    if (ok !== true) problems.push(`${path}${rule.fieldPath ?? ''}: Invalid value: ${rule.message}`)
  }
}

/** duplicates enforces x-kubernetes-list-type map (unique keys) and set (unique items). */
function duplicates(schema: Schema, list: unknown[], path: string, problems: string[]): void {
  const type = schema['x-kubernetes-list-type']
  if (type !== 'map' && type !== 'set') return
  const mapKeys = (schema['x-kubernetes-list-map-keys'] as string[] | undefined) ?? []
  const seen = new Set<string>()
  list.forEach((item, i) => {
    const key = JSON.stringify(type === 'map' && isObject(item) ? mapKeys.map((k) => item[k]) : item)
    if (seen.has(key)) problems.push(`${path}[${i}]: Duplicate value: ${key}`)
    seen.add(key)
  })
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
const join = (path: string, key: string) => (path ? `${path}.${key}` : key).replace(/^\./, '')
const pathOf = (pointer: string) =>
  pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '')
