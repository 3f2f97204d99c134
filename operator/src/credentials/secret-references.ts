import type { CredentialGrant, Tenant } from '@tollgate/api'

/** SecretReference is one Secret a Tenant names, with the field that names it. */
export interface SecretReference {
  /** `spec.providers[0].credentialsSecretRef`: what a condition names. */
  field: string
  namespace: string
  name: string
  key: string
  /** The provider it is the key of; absent for the alert webhook. */
  provider?: string
}

/** secretReferences lists every Secret a Tenant references: provider keys, then the alert URL. */
export function secretReferences(tenant: Tenant): SecretReference[] {
  const refs: SecretReference[] = []
  tenant.spec.providers.forEach((p, i) => {
    const ref = p.credentialsSecretRef
    if (ref) refs.push({ field: `spec.providers[${i}].credentialsSecretRef`, ...ref, provider: p.name })
  })
  const alert = tenant.spec.alerts?.webhookSecretRef
  if (alert) refs.push({ field: 'spec.alerts.webhookSecretRef', ...alert })
  return refs
}

/**
 * isPermitted: a Tenant may reference Secrets in the operator's namespace, and in another
 * namespace only those a CredentialGrant of that namespace names together with the Tenant. This
 * is what stops a Tenant author from having the operator read any Secret of the cluster.
 */
export function isPermitted(
  tenant: string,
  ref: Pick<SecretReference, 'namespace' | 'name'>,
  operatorNamespace: string,
  grants: readonly CredentialGrant[],
): boolean {
  if (ref.namespace === operatorNamespace) return true
  return grants.some(
    (g) =>
      g.metadata.namespace === ref.namespace &&
      g.spec.tenants.includes(tenant) &&
      g.spec.secrets.includes(ref.name),
  )
}

/** referenceProblems names, per field, each reference the Tenant is not permitted to make. */
export function referenceProblems(
  tenant: Tenant,
  operatorNamespace: string,
  grants: readonly CredentialGrant[],
): string[] {
  const name = tenant.metadata.name
  return secretReferences(tenant)
    .filter((ref) => !isPermitted(name, ref, operatorNamespace, grants))
    .map(
      (ref) =>
        `${ref.field}: Secret ${ref.namespace}/${ref.name} is outside the operator's namespace ${operatorNamespace} and no CredentialGrant in ${ref.namespace} names Tenant ${name} and Secret ${ref.name}`,
    )
}
