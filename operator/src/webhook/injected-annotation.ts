import { createHash } from 'node:crypto'
import type { Tenant } from '@tollgate/api'
import type { InjectionConfig } from './injection-config.ts'
import type { InjectionTrust } from './render.ts'

/**
 * InjectedRecord is the JSON value of the `tollgate.dev/injected` annotation. Anyone who creates a
 * pod can write this annotation, so nothing trusts its fields but `sig` (attestation.ts): the
 * webhook's and the exchange's proof that this sidecar is the one the webhook injected.
 */
export interface InjectedRecord {
  /** Format of this record (1: before attestation, never trusted). */
  v: 1 | 2
  tenant: string
  image: string
  /** Providers the app containers were pointed at, in spec order. */
  providers: string[]
  /** App containers that got the base-URL variables. */
  containers: string[]
  /** sha256 of the injection inputs (config, tenant providers, namespace): equal hash, equal sidecar. */
  hash: string
  /** Attestation of the sidecar (Attestor.sign); absent in records of version 1. */
  sig?: string
}

/**
 * inputsHash digests every input of the rendered sidecar, so that a pod injected under an older
 * template or provider list can be found by comparing hashes.
 */
export function inputsHash(
  tenant: Tenant,
  namespace: string,
  config: InjectionConfig,
  trust: InjectionTrust,
): string {
  const providers = tenant.spec.providers.map((p) => ({
    name: p.name,
    type: p.type,
    key: p.credentialsSecretRef?.key ?? null,
  }))
  const input = JSON.stringify({ config, trust, tenant: tenant.metadata.name, namespace, providers })
  return `sha256:${createHash('sha256').update(input).digest('hex')}`
}

/** parseInjectedRecord reads the annotation; undefined when absent or not a record of ours. */
export function parseInjectedRecord(value: string | undefined): InjectedRecord | undefined {
  if (value === undefined) return undefined
  try {
    const record = JSON.parse(value)
    return (record?.v === 1 || record?.v === 2) && typeof record.tenant === 'string' ? record : undefined
  } catch {
    return undefined
  }
}
