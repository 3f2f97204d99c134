import type { V1Pod } from '@kubernetes/client-node'
import type { Tenant } from '@tollgate/api'
import { describe, expect, it } from 'vitest'
import { injectRequired, wantsInjection } from './decide.ts'
import { TEST_ATTESTOR, TEST_OPERATOR } from './fixtures.test-support.ts'
import { parseInjectionConfig } from './injection-config.ts'
import { providerEnv } from './render.ts'

const podWith = (label?: string): V1Pod => ({
  metadata: { name: 'p', ...(label && { labels: { 'tollgate.dev/inject': label } }) },
  spec: { containers: [{ name: 'app' }] },
})

describe('wantsInjection', () => {
  it.each([
    ['enabled', undefined, 'yes'],
    ['enabled', 'disabled', 'OptedOut'],
    ['enabled', 'enabled', 'yes'],
    [undefined, 'enabled', 'yes'],
    [undefined, undefined, 'NotOptedIn'],
    ['disabled', 'enabled', 'OptedOut'],
    ['something', undefined, 'NotOptedIn'],
  ] as const)('namespace %s, pod %s → %s', (ns, pod, expected) => {
    const labels: Record<string, string> = ns ? { 'tollgate.dev/inject': ns } : {}
    expect(wantsInjection(podWith(pod), { name: 'n', labels })).toBe(expected)
  })
})

describe('injectRequired', () => {
  const ready = [{ type: 'Ready', status: 'True' as const, reason: 'x', message: '', lastTransitionTime: '' }]
  const tenant = (extra: Partial<Tenant['metadata']> = {}): Tenant => ({
    apiVersion: 'tollgate.dev/v1alpha1',
    kind: 'Tenant',
    metadata: { name: 'acme', ...extra },
    spec: { namespaces: ['n'], providers: [{ name: 'openai', type: 'openai' }] },
    status: { conditions: ready },
  })
  const ns = { name: 'n', labels: { 'tollgate.dev/inject': 'enabled' } }
  const decide = (
    pod: V1Pod,
    tenants: Tenant[],
    namespace: { name: string; labels?: Record<string, string> } = ns,
  ) => injectRequired({ pod, namespace, tenants, attestor: TEST_ATTESTOR, operator: TEST_OPERATOR })

  it('injects for the one ready tenant that owns the namespace', () => {
    expect(decide(podWith(), [tenant()])).toMatchObject({ inject: true })
  })

  it('does not inject for a tenant being deleted', () => {
    const deleting = tenant({ deletionTimestamp: '2026-11-23T00:00:00Z' })
    expect(decide(podWith(), [deleting])).toMatchObject({ inject: false, reason: 'TenantNotReady' })
  })

  it('lets a namespaceSelector claim only namespaces labelled with the tenant', () => {
    const selecting = (name: string): Tenant => ({
      ...tenant(),
      metadata: { name },
      spec: {
        namespaceSelector: { matchLabels: { team: 'ml' } },
        providers: [{ name: 'openai', type: 'openai' }],
      },
    })
    const labels = { 'tollgate.dev/inject': 'enabled', team: 'ml' }
    // A selector that matches is not enough: the namespace must also name the tenant.
    expect(decide(podWith(), [selecting('acme')], { name: 'ml', labels })).toMatchObject({
      reason: 'NoTenant',
    })
    expect(
      decide(podWith(), [selecting('acme'), selecting('globex')], {
        name: 'ml',
        labels: { ...labels, 'tollgate.dev/tenant': 'acme' },
      }),
    ).toMatchObject({ inject: true, tenant: { metadata: { name: 'acme' } } })
  })

  it.each([
    ['shareProcessNamespace', { shareProcessNamespace: true }],
    ['hostPID', { hostPID: true }],
  ])('skips a pod with %s: its containers could read the sidecar', (_, extra) => {
    const pod = { ...podWith(), spec: { containers: [{ name: 'app' }], ...extra } }
    expect(decide(pod, [tenant()])).toMatchObject({ inject: false, reason: 'SharedProcesses' })
  })
})

describe('providerEnv', () => {
  it('gives the first openai and anthropic providers the SDK variables, and every other provider its own', () => {
    const { baseURLs } = providerEnv([
      { name: 'openai', type: 'openai' },
      { name: 'openai-eu', type: 'openai' },
      { name: 'claude', type: 'anthropic' },
      { name: 'groq', type: 'openai-compatible', baseURL: 'https://api.groq.com/openai' },
    ])
    expect(baseURLs).toEqual([
      { name: 'OPENAI_BASE_URL', value: 'http://127.0.0.1:4141/openai/v1' },
      { name: 'OPENAI_EU_BASE_URL', value: 'http://127.0.0.1:4141/openai-eu/v1' },
      { name: 'ANTHROPIC_BASE_URL', value: 'http://127.0.0.1:4141/claude' },
      { name: 'GROQ_BASE_URL', value: 'http://127.0.0.1:4141/groq/v1' },
    ])
  })
})

describe('parseInjectionConfig', () => {
  it('fills defaults', () => {
    expect(parseInjectionConfig('image: x/y:1').redis.url).toMatch(/^redis:\/\//)
  })
  it('takes quantities written as numbers', () => {
    expect(parseInjectionConfig('resources: { limits: { cpu: 1, memory: 512Mi } }').resources).toEqual({
      limits: { cpu: '1', memory: '512Mi' },
    })
  })
  it.each([
    ['image: ""', /\/image/],
    ['redis: { url: "redis://tollgate-operator:pw@redis:6379" }', /must not carry a user or password/],
    ['redis: { secretName: s, secretKey: k }', /\/redis/],
    ['imagePullPolicy: Sometimes', /imagePullPolicy/],
    ['colour: blue', /colour|additional/i],
  ])('refuses %s', (text, message) => {
    expect(() => parseInjectionConfig(text)).toThrow(message)
  })
})
