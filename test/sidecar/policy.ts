import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'

/** uniqueTenant is a tenant name no other test uses: tests share one Redis. */
export const uniqueTenant = (prefix = 'acme') => `${prefix}-${randomUUID().slice(0, 8)}`

/** policyYaml is a RateLimitPolicy document targeting one tenant; `spec` lines are indented under spec. */
export const policyYaml = (name: string, tenant: string, spec: string[]) =>
  [
    'apiVersion: tollgate.dev/v1alpha1',
    'kind: RateLimitPolicy',
    `metadata: { name: ${name} }`,
    'spec:',
    `  targetRefs: [{ kind: Tenant, name: ${tenant} }]`,
    ...spec.map((line) => `  ${line}`),
  ].join('\n')

/**
 * freshMinute waits, when less than `marginSeconds` of the current minute are left, for the next
 * one, so that a test of a per-minute limit never sees its window reset half-way.
 */
export async function freshMinute(marginSeconds = 20): Promise<void> {
  const intoMinute = Date.now() % 60_000
  if (intoMinute > 60_000 - marginSeconds * 1000) await sleep(60_000 - intoMinute + 50)
}

/** metricValue reads one series from a Prometheus text exposition (0 when absent). */
export async function metricValue(adminUrl: string, name: string, labels: Record<string, string> = {}) {
  const text = await (await fetch(`${adminUrl}/metrics`)).text()
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.split(' ').at(-1))
  }
  return 0
}
