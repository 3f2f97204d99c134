import { type Static, Type } from '@sinclair/typebox'
import { list, name, objectName } from './schema-kit.ts'

/**
 * CredentialGrantSpec lets Tenants reference Secrets of the grant's namespace, the way Gateway
 * API's ReferenceGrant lets routes reference objects of another namespace. A Tenant's
 * `credentialsSecretRef` and `alerts.webhookSecretRef` may point into the operator's namespace;
 * anywhere else only where a CredentialGrant in that namespace names both the Tenant and the
 * Secret. Whoever may create CredentialGrants in a namespace (its owners, by RBAC) decides.
 */
export const CredentialGrantSpec = Type.Object(
  {
    tenants: list(name('A Tenant name.'), 'Tenants that may reference the Secrets below.', 64, {
      minItems: 1,
      'x-kubernetes-list-type': 'set',
    }),
    secrets: list(
      objectName('A Secret name.'),
      'Secrets of this namespace those Tenants may reference.',
      64,
      {
        minItems: 1,
        'x-kubernetes-list-type': 'set',
      },
    ),
  },
  { description: 'Which Tenants may read which Secrets of this namespace.' },
)

export type CredentialGrantSpec = Static<typeof CredentialGrantSpec>
