import type { CredentialGrant, Tenant } from '@tollgate/api'
import type { WebhookURL } from '../usage/alerter.ts'
import type { SecretReader } from './secret-reader.ts'
import { isPermitted } from './secret-references.ts'

/**
 * alertWebhookURL reads a tenant's alert URL from the Secret `spec.alerts.webhookSecretRef` names,
 * if the tenant may reference it (the operator's namespace, or a CredentialGrant): the same rule
 * as for provider keys, so an alert reference cannot be used to read another namespace's Secrets.
 */
export function alertWebhookURL(deps: {
  secrets: SecretReader
  namespace: string
  grants: () => readonly CredentialGrant[]
}): (tenant: Tenant) => Promise<WebhookURL> {
  return async (tenant) => {
    const ref = tenant.spec.alerts?.webhookSecretRef
    if (!ref) return { problem: 'the tenant has no spec.alerts.webhookSecretRef' }
    if (!isPermitted(tenant.metadata.name, ref, deps.namespace, deps.grants()))
      return {
        problem: `spec.alerts.webhookSecretRef: Secret ${ref.namespace}/${ref.name} is not in the operator's namespace and no CredentialGrant names it for this tenant`,
      }
    const url = await deps.secrets.value(ref.namespace, ref.name, ref.key)
    return url ? { url } : { problem: `Secret ${ref.namespace}/${ref.name} key ${ref.key} not found` }
  }
}
