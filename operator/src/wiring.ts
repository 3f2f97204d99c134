import type { V1Secret } from '@kubernetes/client-node'
import { type CredentialGrant, policyTargets, type RateLimitPolicy, type Tenant } from '@tollgate/api'
import type { SecretReader } from './credentials/secret-reader.ts'
import { secretReferences } from './credentials/secret-references.ts'
import type { Informers } from './informers.ts'
import type { Controller } from './runtime/controller.ts'

const sameVersion = (
  a: { metadata?: { resourceVersion?: string } },
  b: { metadata?: { resourceVersion?: string } },
) => a.metadata?.resourceVersion === b.metadata?.resourceVersion

/**
 * tenantNeedsReconcile filters tenant updates: our own status writes change nothing the
 * reconciler reads, so only spec (generation), labels, annotations, finalizers, deletion and
 * periodic resyncs (same resourceVersion) queue the tenant.
 */
export function tenantNeedsReconcile(old: Tenant, next: Tenant): boolean {
  if (sameVersion(old, next)) return true
  const m = (t: Tenant) =>
    JSON.stringify([
      t.metadata.generation,
      t.metadata.labels,
      t.metadata.annotations,
      t.metadata.finalizers,
      t.metadata.deletionTimestamp,
    ])
  return m(old) !== m(next)
}

/** tenantsUsingSecret are the tenants whose provider or alert credentials name the Secret. */
export function tenantsUsingSecret(tenants: readonly Tenant[], secret: V1Secret): string[] {
  const ns = secret.metadata?.namespace
  const name = secret.metadata?.name
  return tenants
    .filter((t) => secretReferences(t).some((r) => r.namespace === ns && r.name === name))
    .map((t) => t.metadata.name)
}

/**
 * wireEvents connects informer events to the two controllers' queues: a tenant change queues
 * the tenant and every policy (their target lists may change); a policy change queues the
 * tenants it selected before or selects now, and every policy (conflicts are between
 * policies); a Secret change queues the tenants that reference it (and is forgotten by the
 * reader, so the next read sees it); a CredentialGrant change queues the tenants it names.
 */
export function wireEvents(
  informers: Informers,
  tenantCtl: Controller,
  policyCtl: Controller,
  secrets: SecretReader,
): void {
  const allPolicies = () => {
    for (const p of informers.policies.list()) policyCtl.enqueue(p.metadata.name)
  }
  informers.tenants.on({
    add: (t) => {
      tenantCtl.enqueue(t.metadata.name)
      allPolicies()
    },
    update: (old, t) => {
      if (tenantNeedsReconcile(old, t)) tenantCtl.enqueue(t.metadata.name)
      if (!sameVersion(old, t) && old.metadata.generation !== t.metadata.generation) allPolicies()
      else if (JSON.stringify(old.metadata.labels) !== JSON.stringify(t.metadata.labels)) allPolicies()
    },
    delete: (t) => {
      tenantCtl.enqueue(t.metadata.name)
      allPolicies()
    },
  })
  const affected = (...policies: RateLimitPolicy[]) => {
    for (const tenant of informers.tenants.list()) {
      if (policies.some((p) => policyTargets(p, tenant))) tenantCtl.enqueue(tenant.metadata.name)
    }
  }
  informers.policies.on({
    add: (p) => {
      affected(p)
      allPolicies()
    },
    update: (old, p) => {
      if (sameVersion(old, p)) return policyCtl.enqueue(p.metadata.name)
      if (
        old.metadata.generation === p.metadata.generation &&
        JSON.stringify(old.metadata.labels) === JSON.stringify(p.metadata.labels)
      )
        return
      affected(old, p)
      allPolicies()
    },
    delete: (p) => {
      affected(p)
      policyCtl.enqueue(p.metadata.name)
      allPolicies()
    },
  })
  const secretChanged = (secret: V1Secret) => {
    secrets.forget(secret.metadata?.namespace ?? '', secret.metadata?.name ?? '')
    for (const name of tenantsUsingSecret(informers.tenants.list(), secret)) tenantCtl.enqueue(name)
  }
  informers.secrets.on({
    add: secretChanged,
    update: (old, s) => {
      if (!sameVersion(old, s)) secretChanged(s)
    },
    delete: secretChanged,
  })
  const grantChanged = (...grants: CredentialGrant[]) => {
    for (const name of new Set(grants.flatMap((g) => g.spec.tenants))) tenantCtl.enqueue(name)
  }
  informers.grants.on({
    add: (g) => grantChanged(g),
    update: (old, g) => {
      if (!sameVersion(old, g)) grantChanged(old, g)
    },
    delete: (g) => grantChanged(g),
  })
}
