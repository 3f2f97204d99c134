import type { V1Namespace } from '@kubernetes/client-node'
import { selectorMatches, type Tenant } from '@tollgate/api'

/**
 * tenantNamespaces are the namespaces a tenant covers that exist and are not terminating:
 * `spec.namespaces` plus those whose labels match `spec.namespaceSelector`, sorted.
 */
export function tenantNamespaces(tenant: Tenant, namespaces: readonly V1Namespace[]): string[] {
  const named = new Set(tenant.spec.namespaces ?? [])
  const selector = tenant.spec.namespaceSelector
  const result = new Set<string>()
  for (const ns of namespaces) {
    const name = ns.metadata?.name
    if (!name || ns.metadata?.deletionTimestamp || ns.status?.phase === 'Terminating') continue
    if (named.has(name) || (selector && selectorMatches(selector, ns.metadata?.labels ?? {})))
      result.add(name)
  }
  return [...result].sort()
}

/** coversNamespace reports whether a tenant names or selects a namespace (existing or not). */
export function coversNamespace(tenant: Tenant, namespace: V1Namespace): boolean {
  const name = namespace.metadata?.name ?? ''
  if (tenant.spec.namespaces?.includes(name)) return true
  const selector = tenant.spec.namespaceSelector
  return !!selector && selectorMatches(selector, namespace.metadata?.labels ?? {})
}
