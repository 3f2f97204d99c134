import { CoreV1Api, CustomObjectsApi, KubeConfig, type V1Pod } from '@kubernetes/client-node'
import { ANNOTATIONS, GROUP, type Tenant, type TenantStatus, VERSION } from '@tollgate/api'
import type { TenantReport } from '../analytics/tenant-report.ts'
import { type ConsoleClient, PluginError } from './console-client.ts'
import { table } from './table.ts'

const sidecarEnv = (pod: V1Pod, name: string) =>
  [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]
    .flatMap((c) => c.env ?? [])
    .find((e) => e.name === name)?.value

/**
 * explainCommand says which tenant governs a pod and how: whether the webhook injected it (and
 * if not, the likely reason), its workload, the tenant's limits, policies and budgets, and the
 * recent refusals of its workload with the limit that tripped. It reads the pod and Tenant with
 * the user's kubeconfig and the refusals from the console API with the user's token.
 */
export async function explainCommand(
  client: ConsoleClient,
  namespace: string,
  name: string,
): Promise<string> {
  const kc = new KubeConfig()
  kc.loadFromDefault()
  const core = kc.makeApiClient(CoreV1Api)
  const custom = kc.makeApiClient(CustomObjectsApi)
  let pod: V1Pod
  try {
    pod = await core.readNamespacedPod({ name, namespace })
  } catch (error) {
    throw new PluginError(
      `pod ${namespace}/${name}: ${(error as { code?: number }).code === 404 ? 'not found' : (error as Error).message}`,
    )
  }
  const injected = pod.metadata?.annotations?.[ANNOTATIONS.injected]
  const tenants = (
    (await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: 'tenants' })) as {
      items: (Tenant & { status?: TenantStatus })[]
    }
  ).items
  const tenantName = injected
    ? (JSON.parse(injected) as { tenant: string }).tenant
    : tenants.find((t) => t.spec.namespaces?.includes(namespace))?.metadata.name
  const lines = [`Pod:       ${namespace}/${name}`]
  if (!tenantName) {
    lines.push(
      'Mediated:  no: no Tenant lists this namespace (spec.namespaces) and the webhook injected no sidecar',
    )
    return `${lines.join('\n')}\n`
  }
  const tenant = tenants.find((t) => t.metadata.name === tenantName)
  const workload = sidecarEnv(pod, 'TOLLGATE_WORKLOAD') ?? ''
  lines.push(
    injected
      ? 'Mediated:  yes: the webhook injected the Tollgate sidecar; its calls go through it'
      : `Mediated:  no: the pod has no sidecar (created before the tenant was Ready, opted out with tollgate.dev/inject=disabled, or its namespace lacks tollgate.dev/inject=enabled)`,
    `Tenant:    ${tenantName}${tenant ? ` (tier ${tenant.spec.tier ?? 'standard'}${tenant.spec.suspended ? ', SUSPENDED: every call is refused' : ''})` : ' (not found)'}`,
    `Workload:  ${workload || '(not known)'}`,
  )
  if (tenant) {
    const l = tenant.spec.limits ?? {}
    const set = Object.entries(l).map(([k, v]) => `${k}=${v}`)
    lines.push(
      `Limits:    ${set.length ? set.join(', ') : 'none set'}; others from tier ${tenant.spec.tier ?? 'standard'}`,
      `Policies:  ${tenant.status?.appliedPolicies?.join(', ') || 'none'}`,
      `Budgets:   ${
        (tenant.status?.usage ?? [])
          .map(
            (u) =>
              `${u.period}: $${u.costUSD}${u.limitUSD ? ` of $${u.limitUSD} ($${u.remainingUSD ?? '?'} left)` : ''}, resets ${u.resetsAt}`,
          )
          .join('; ') || 'none'
      }`,
    )
  }
  const report = await client.json<TenantReport>(
    `/api/v1/analytics/tenant?tenant=${encodeURIComponent(tenantName)}`,
  )
  const refusals = report.refusals.recent.filter((r) => !workload || r.workload === workload)
  lines.push(
    refusals.length
      ? `Recent refusals${workload ? ` of ${workload}` : ''}:\n${table(
          ['time', 'limit', 'status', 'model', 'user'],
          refusals.map((r) => [r.at, r.limit, r.status, r.model, r.user || '-']),
        ).trimEnd()}`
      : `Recent refusals: none${workload ? ` of ${workload}` : ''}`,
  )
  return `${lines.join('\n')}\n`
}
