import { type CredentialGrant, DEFAULT_BASE_URLS, type ProviderCredential, type Tenant } from '@tollgate/api'
import type { SecretReader } from '../credentials/secret-reader.ts'
import { isPermitted } from '../credentials/secret-references.ts'

/**
 * providerCredentials reads the keys of a tenant's providers: only through references the tenant
 * may make (the operator's namespace or a CredentialGrant), each bound to the origin of the
 * provider's base URL. A provider whose Secret or key is missing is left out (its calls answer
 * TOLLGATE_ERR_CREDENTIAL_MISSING; the Tenant's status says why).
 */
export async function providerCredentials(
  tenant: Tenant,
  secrets: SecretReader,
  operatorNamespace: string,
  grants: readonly CredentialGrant[],
): Promise<ProviderCredential[]> {
  const out: ProviderCredential[] = []
  for (const provider of tenant.spec.providers) {
    const ref = provider.credentialsSecretRef
    if (!ref || !isPermitted(tenant.metadata.name, ref, operatorNamespace, grants)) continue
    const baseURL = provider.baseURL ?? DEFAULT_BASE_URLS[provider.type]
    if (!baseURL) continue
    const apiKey = await secrets.value(ref.namespace, ref.name, ref.key)
    if (apiKey) out.push({ name: provider.name, origin: new URL(baseURL).origin, apiKey })
  }
  return out
}
