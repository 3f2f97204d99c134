import { createHash } from 'node:crypto'
import type { Tenant } from '@tollgate/api'
import type { InjectionConfig } from './injection-config.ts'

/** InjectedRecord is the JSON value of the `tollgate.dev/injected` annotation. */
export interface InjectedRecord {
  /** Format of this record. */
  v: 1
  tenant: string
  image: string
  /** Providers the app containers were pointed at, in spec order. */
  providers: string[]
  /** App containers that got the base-URL variables. */
  containers: string[]
  /** sha256 of the injection inputs (config, tenant providers, namespace): equal hash, equal sidecar. */
  hash: string
}

/**
 * inputsHash digests every input of the rendered sidecar, so that a pod injected under an older
 * template or provider list can be found by comparing hashes.
 */
export function inputsHash(tenant: Tenant, namespace: string, config: InjectionConfig): string {
  const providers = tenant.spec.providers.map((p) => ({
    name: p.name,
    type: p.type,
    key: p.credentialsSecretRef?.key ?? null,
  }))
  const input = JSON.stringify({ config, tenant: tenant.metadata.name, namespace, providers })
  return `sha256:${createHash('sha256').update(input).digest('hex')}`
}

/** parseInjectedRecord reads the annotation; undefined when absent or not a record of ours. */
export function parseInjectedRecord(value: string | undefined): InjectedRecord | undefined {
  if (value === undefined) return undefined
  try {
    const record = JSON.parse(value)
    return record?.v === 1 && typeof record.tenant === 'string' ? record : undefined
  } catch {
    return undefined
  }
}
