import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { parseAllDocuments, stringify } from 'yaml'
import { kubectl, kubectlOK } from './support/kubectl.ts'

// The files in examples/ are what the walkthrough tells people to apply: the real API server must
// accept them as they are (server-side dry run, so the shared stack keeps no `acme`).
const stack = inject('stack')
const examples = new URL('../examples/', import.meta.url).pathname
const read = (file: string) => readFileSync(join(examples, file), 'utf8')

describe('examples/', () => {
  it.each(['tenant.yaml', 'policy.yaml'])('%s passes the CRD validation of the API server', async (file) => {
    const result = await kubectl(stack, ['apply', '--dry-run=server', '-f', '-'], read(file))
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
  })

  it('sample-app.yaml passes the API server in a namespace of its own', async () => {
    // The namespace must exist for a server-side dry run of what goes in it: use a unique one.
    const namespace = `example-${randomUUID().slice(0, 8)}`
    await kubectlOK(stack, ['create', 'namespace', namespace])
    const docs = parseAllDocuments(read('sample-app.yaml'))
      .map((d) => d.toJS())
      .filter((d) => d.kind !== 'Namespace')
      .map((d) => ({ ...d, metadata: { ...d.metadata, namespace } }))
    expect(docs.map((d) => d.kind)).toEqual(['ConfigMap', 'Deployment'])
    const result = await kubectl(
      stack,
      ['apply', '--dry-run=server', '-f', '-'],
      docs.map((d) => stringify(d)).join('---\n'),
    )
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
  })

  it('sample-app.yaml opts its namespace in', () => {
    const ns = parseAllDocuments(read('sample-app.yaml'))
      .map((d) => d.toJS())
      .find((d) => d.kind === 'Namespace')
    expect(ns.metadata.labels['tollgate.dev/inject']).toBe('enabled')
  })
})
