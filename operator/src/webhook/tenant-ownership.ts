import { LABELS, selectorMatches, type Tenant } from '@tollgate/api'

/** NamespaceInfo is the part of a Namespace the webhook and the mediation count read. */
export interface NamespaceInfo {
  name: string
  labels?: Record<string, string>
}

/**
 * ownsNamespace reports whether a tenant claims a namespace: it lists it in `spec.namespaces`, or
 * its `spec.namespaceSelector` matches the namespace's labels *and* the namespace carries
 * `tollgate.dev/tenant=<tenant>`. A selector alone claims nothing, so a Tenant author cannot
 * write one broad enough to take over namespaces that never chose the tenant; the label is set by
 * whoever may label namespaces (docs/security.md).
 */
export function ownsNamespace(tenant: Tenant, namespace: NamespaceInfo): boolean {
  if (tenant.spec.namespaces?.includes(namespace.name)) return true
  const selector = tenant.spec.namespaceSelector
  return (
    selector !== undefined &&
    namespace.labels?.[LABELS.tenant] === tenant.metadata.name &&
    selectorMatches(selector, namespace.labels)
  )
}

/** tenantsOwning returns every tenant that claims the namespace, sorted by name. */
export function tenantsOwning(tenants: Iterable<Tenant>, namespace: NamespaceInfo): Tenant[] {
  return [...tenants]
    .filter((t) => ownsNamespace(t, namespace))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
}

/** isTenantReady is true when the tenant's Ready condition is True and it is not being deleted. */
export function isTenantReady(tenant: Tenant): boolean {
  if (tenant.metadata.deletionTimestamp) return false
  return tenant.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false
}
