import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { parseAllDocuments, stringify } from 'yaml'
import { type ExchangeFixture, exchangeFixture } from './support/exchange-fixture.ts'
import { kubectl, kubectlOK } from './support/kubectl.ts'

// The chart's admission policies (templates/admission-policies.yaml), on the real API server,
// rendered under a release name of this file's own and bound to its namespace only, since the API
// server is shared; the chart binds them to every namespace but the exempt ones. The attack they close: a developer who may create
// ServiceAccount tokens in a tenant namespace (the built-in edit role may) mints a token of
// audience tollgate.dev bound to an injected pod, and the exchange, which cannot tell it from
// kubelet's, hands out the tenant's keys. Exec into the sidecar is refused here at admission; that
// it is refused end to end on a real node is test/cluster's to show.
const stack = inject('stack')
let f: ExchangeFixture
type Manifest = { kind: string; metadata: { name: string }; spec: Record<string, unknown> }
let policies: Manifest[]

/** chartPolicies renders the chart's admission policies under a release name unique to ns. */
function chartPolicies(ns: string): Manifest[] {
  const chart = new URL('../charts/tollgate', import.meta.url).pathname
  const out = execFileSync(join(stack.binDir, 'helm'), [
    'template',
    ns,
    chart,
    '--kube-version',
    '1.33.0',
    '--show-only',
    'templates/admission-policies.yaml',
  ])
  return parseAllDocuments(out.toString())
    .map((d) => d.toJS())
    .filter(Boolean)
}
const developer = (ns: string) => [`--as=system:serviceaccount:${ns}:developer`]

beforeAll(async () => {
  f = await exchangeFixture(stack, {
    redisUrl: stack.redisUrl,
    spec: () => ({ providers: [{ name: 'openai', type: 'openai' }] }),
  })
  const ns = f.namespace
  await kubectlOK(stack, ['label', 'namespace', ns, `tollgate-policy-test=${ns}`])
  policies = chartPolicies(ns).map((d) =>
    d.kind === 'ValidatingAdmissionPolicyBinding'
      ? {
          ...d,
          spec: {
            ...d.spec,
            matchResources: { namespaceSelector: { matchLabels: { 'tollgate-policy-test': ns } } },
          },
        }
      : d,
  )
  expect(policies.map((d) => d.kind).sort()).toEqual([
    ...Array(3).fill('ValidatingAdmissionPolicy'),
    ...Array(3).fill('ValidatingAdmissionPolicyBinding'),
  ])
  await kubectlOK(stack, ['apply', '-f', '-'], policies.map((d) => stringify(d)).join('---\n'))
  // A developer of the namespace: what the built-in edit role grants for tokens, exec and debug.
  await kubectlOK(stack, ['-n', ns, 'create', 'serviceaccount', 'developer'])
  await kubectlOK(
    stack,
    ['apply', '-f', '-'],
    stringify({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'developer', namespace: ns },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'create'] },
        { apiGroups: [''], resources: ['pods/exec', 'pods/attach'], verbs: ['create', 'get'] },
        { apiGroups: [''], resources: ['pods/ephemeralcontainers'], verbs: ['patch', 'update'] },
        { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] },
      ],
    }),
  )
  await kubectlOK(stack, [
    '-n',
    ns,
    'create',
    'rolebinding',
    'developer',
    '--role=developer',
    `--serviceaccount=${ns}:developer`,
  ])
  // Policies take effect a moment after they are created.
  await new Promise((r) => setTimeout(r, 2_000))
}, 90_000)

afterAll(async () => {
  for (const d of policies ?? [])
    await kubectl(stack, ['delete', d.kind, d.metadata.name, '--ignore-not-found'])
  await f?.close()
})

describe("the chart's admission policies", () => {
  it('refuse a developer a token of audience tollgate.dev bound to an injected pod, and allow other audiences', async () => {
    const { pod } = await f.injectedPod('target', {}, { token: false })
    const bound = [
      '--bound-object-kind=Pod',
      `--bound-object-name=${pod.metadata?.name}`,
      `--bound-object-uid=${pod.metadata?.uid}`,
    ]
    const minted = await kubectl(stack, [
      ...developer(f.namespace),
      '-n',
      f.namespace,
      'create',
      'token',
      'app',
      '--audience=tollgate.dev',
      ...bound,
    ])
    expect(minted.code).not.toBe(0)
    expect(minted.stderr).toContain('only kubelet may request ServiceAccount tokens of audience tollgate.dev')
    const other = await kubectl(stack, [
      ...developer(f.namespace),
      '-n',
      f.namespace,
      'create',
      'token',
      'app',
      '--audience=https://vault.example',
    ])
    expect(other.code).toBe(0)
  })

  it("let kubelet's identity request the token it projects into the sidecar", async () => {
    const node = `system:node:${f.namespace}`
    await kubectlOK(stack, [
      'create',
      'clusterrolebinding',
      `${f.namespace}-node`,
      '--clusterrole=system:node',
      `--user=${node}`,
    ])
    try {
      const { pod } = await f.injectedPod('kubelet-token', {}, { token: false })
      const result = await kubectl(stack, [
        `--as=${node}`,
        '--as-group=system:nodes',
        '-n',
        f.namespace,
        'create',
        'token',
        'app',
        '--audience=tollgate.dev',
        '--bound-object-kind=Pod',
        `--bound-object-name=${pod.metadata?.name}`,
        `--bound-object-uid=${pod.metadata?.uid}`,
      ])
      expect(result.stderr).toBe('')
      expect(result.code).toBe(0)
    } finally {
      await kubectl(stack, ['delete', 'clusterrolebinding', `${f.namespace}-node`])
    }
  })

  it('refuse exec and ephemeral containers aimed at the sidecar, not at the app', async () => {
    await f.injectedPod('exec-target', {}, { token: false })
    const exec = await kubectl(stack, [
      ...developer(f.namespace),
      '-n',
      f.namespace,
      'exec',
      'exec-target',
      '-c',
      'tollgate-sidecar',
      '--',
      'cat',
      '/proc/1/environ',
    ])
    expect(exec.stderr).toContain('exec and attach into the Tollgate sidecar are not allowed')
    // No kubelet runs: exec into the app passes admission and only then finds no node.
    const app = await kubectl(stack, [
      ...developer(f.namespace),
      '-n',
      f.namespace,
      'exec',
      'exec-target',
      '-c',
      'app',
      '--',
      'true',
    ])
    expect(app.stderr).toContain('does not have a host assigned')
    const debug = (target: string, name: string) =>
      kubectl(stack, [
        ...developer(f.namespace),
        '-n',
        f.namespace,
        'debug',
        'exec-target',
        '-c',
        name,
        '--image=busybox',
        `--target=${target}`,
        '--attach=false',
        '--profile=general',
      ])
    expect((await debug('tollgate-sidecar', 'peek')).stderr).toContain('may not target the Tollgate sidecar')
    expect((await debug('app', 'look')).code).toBe(0)
  })

  it('let the exempt group (system:masters: the cluster admin, who could delete them) exec into the sidecar', async () => {
    await f.injectedPod('break-glass', {}, { token: false })
    const exec = await kubectl(stack, [
      '-n',
      f.namespace,
      'exec',
      'break-glass',
      '-c',
      'tollgate-sidecar',
      '--',
      'true',
    ])
    // Past admission, it only finds that no kubelet runs here.
    expect(exec.stderr).toContain('does not have a host assigned')
  })
})
