import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import type { V1Pod } from '@kubernetes/client-node'
import type { Tenant } from '@tollgate/api'
import { applyPatch } from 'rfc6902'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments, stringify } from 'yaml'
import { isRefusal } from './decide.ts'
import { TEST_ATTESTOR, TEST_OPERATOR, TEST_TRUST } from './fixtures.test-support.ts'
import { injectPod } from './inject.ts'
import { DEFAULT_INJECTION_CONFIG, parseInjectionConfig } from './injection-config.ts'
import type { NamespaceInfo } from './tenant-ownership.ts'

// Golden files, as Istio's injector keeps them: testdata/inject/<case>.yaml holds the submitted Pod,
// its Namespace, the Tenants in the cluster and optionally an InjectionConfig; <case>.injected.yaml
// holds the outcome, the warnings, the stored pod and the JSON patch. UPDATE_GOLDEN=1 rewrites them.
// The attestation key, operator namespace and CA bundle are the fixed ones of fixtures.test-support.ts.
const dir = new URL('./testdata/inject/', import.meta.url)
const update = process.env.UPDATE_GOLDEN === '1'
const files = readdirSync(dir)
const cases = files
  .filter((f) => f.endsWith('.yaml') && !f.endsWith('.injected.yaml'))
  .map((f) => f.slice(0, -5))

function loadCase(name: string) {
  const docs = parseAllDocuments(readFileSync(new URL(`${name}.yaml`, dir), 'utf8')).map((d) => d.toJS())
  const pod = docs.find((d) => d.kind === 'Pod') as V1Pod
  const ns = docs.find((d) => d.kind === 'Namespace')
  const configDoc = docs.find((d) => d.kind === 'InjectionConfig')
  const { kind: _, ...configFields } = configDoc ?? {}
  return {
    pod,
    namespace: { name: ns.metadata.name, labels: ns.metadata.labels } satisfies NamespaceInfo,
    tenants: docs.filter((d) => d.kind === 'Tenant') as Tenant[],
    config: configDoc ? parseInjectionConfig(stringify(configFields)) : DEFAULT_INJECTION_CONFIG,
    trust: TEST_TRUST,
    attestor: TEST_ATTESTOR,
    operator: TEST_OPERATOR,
  }
}

function renderOutcome(name: string) {
  const input = loadCase(name)
  const result = injectPod(input)
  const outcome = result.decision.inject
    ? `injected for tenant ${result.decision.tenant.metadata.name}`
    : `${isRefusal(result.decision.reason) ? 'refused' : 'skipped'} (${result.decision.reason}): ${result.decision.message}`
  const header = [`# outcome: ${outcome}`, ...result.warnings.map((w) => `# warning: ${w}`)].join('\n')
  const text = `${header}\n${stringify(result.pod, { lineWidth: 0, aliasDuplicateObjects: false })}---\n# JSON patch\n${stringify(result.patch, { lineWidth: 0, aliasDuplicateObjects: false })}`
  return { input, result, text }
}

describe('injection golden files', () => {
  it('finds cases', () => {
    expect(cases.length).toBeGreaterThan(10)
  })

  it.each(cases)('%s matches its golden file', (name) => {
    const { text } = renderOutcome(name)
    const golden = new URL(`${name}.injected.yaml`, dir)
    if (update) writeFileSync(golden, text)
    expect(text).toBe(readFileSync(golden, 'utf8'))
  })

  it.each(cases)('%s: the patch turns the submitted pod into the stored one', (name) => {
    const { input, result } = renderOutcome(name)
    const patched = structuredClone(input.pod)
    expect(applyPatch(patched, result.patch).every((e) => e === null)).toBe(true)
    expect(patched).toEqual(result.pod)
  })

  it.each(cases)('%s: a second pass changes nothing', (name) => {
    const { input, result } = renderOutcome(name)
    const again = injectPod({ ...input, pod: result.pod })
    expect(again.patch).toEqual([])
    if (result.decision.inject)
      expect(again.decision).toMatchObject({ inject: false, reason: 'AlreadyInjected' })
  })

  it('has no golden file without a case', () => {
    const unused = files
      .filter((f) => f.endsWith('.injected.yaml'))
      .filter((f) => !cases.includes(f.slice(0, -'.injected.yaml'.length)))
    expect(unused).toEqual([])
    const stray = files.filter((f) => !f.endsWith('.yaml'))
    expect(stray).toEqual([])
  })
})
