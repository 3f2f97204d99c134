import { readFile } from 'node:fs/promises'
import type { CompiledConfig, ProviderType, RateLimitPolicy, Tenant } from '@tollgate/api'
import { compileTenantConfig } from '@tollgate/api/compile.ts'
import { DEFAULT_PRICES } from '@tollgate/api/prices.ts'
import { DEFAULT_TIERS } from '@tollgate/api/tiers.ts'
import { validateResource } from '@tollgate/api/validate.ts'
import { parseAllDocuments } from 'yaml'
import { TollgateError } from '../errors.ts'

/** The variable each provider type's official SDK reads its key from. */
export const KEY_VARIABLES: Record<ProviderType, string | undefined> = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  'openai-compatible': undefined,
}

/** StandaloneConfig is what a `--config` file yields: the compiled config and the provider keys. */
export interface StandaloneConfig {
  config: CompiledConfig
  /** Key per provider name; a provider without one is absent. */
  keys: Map<string, string>
  /** Where each key came from, for logs and /config (never the key). */
  keySources: Record<string, string>
}

interface SecretDoc {
  apiVersion: 'v1'
  kind: 'Secret'
  metadata: { name: string; namespace?: string }
  data?: Record<string, string>
  stringData?: Record<string, string>
}

const invalid = (file: string, message: string, cause?: unknown) =>
  new TollgateError('TOLLGATE_ERR_INVALID_CONFIG', `${file}: ${message}`, { cause })

/**
 * loadStandaloneConfig reads Tenant, RateLimitPolicy and Secret documents from a YAML file (the
 * format `kubectl apply -f` takes), validates them with the CRD schemas, picks the tenant and
 * compiles its config with the shipped tier and price tables.
 */
export async function loadStandaloneConfig(
  file: string,
  tenantName: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<StandaloneConfig> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (cause) {
    throw invalid(file, `cannot read: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, cause)
  }
  const { tenants, policies, secrets } = parseResources(file, text)
  const tenant = pickTenant(file, tenants, tenantName)
  let config: CompiledConfig
  try {
    config = compileTenantConfig({
      tenant,
      policies,
      tiers: DEFAULT_TIERS,
      prices: DEFAULT_PRICES,
      version: 1,
    }).config
  } catch (cause) {
    throw invalid(file, `Tenant ${tenant.metadata.name}: ${(cause as Error).message}`, cause)
  }
  const keys = new Map<string, string>()
  const keySources: Record<string, string> = {}
  for (const provider of config.providers) {
    const ref = provider.credential
    const secret =
      ref &&
      secrets.find(
        (s) =>
          s.metadata.name === ref.secretName && (s.metadata.namespace ?? 'default') === ref.secretNamespace,
      )
    if (ref && secret) {
      const value = secretValue(secret, ref.key)
      if (value === undefined)
        throw invalid(file, `Secret ${ref.secretNamespace}/${ref.secretName} has no key ${ref.key}`)
      keys.set(provider.name, value)
      keySources[provider.name] = `Secret ${ref.secretNamespace}/${ref.secretName}`
      continue
    }
    const variable = KEY_VARIABLES[provider.type]
    const value = variable ? env[variable]?.trim() : undefined
    if (variable && value) {
      keys.set(provider.name, value)
      keySources[provider.name] = `$${variable}`
    } else keySources[provider.name] = 'none'
  }
  return { config, keys, keySources }
}

function parseResources(file: string, text: string) {
  const tenants: Tenant[] = []
  const policies: RateLimitPolicy[] = []
  const secrets: SecretDoc[] = []
  const docs = parseAllDocuments(text)
  if (!Array.isArray(docs)) throw invalid(file, 'not a YAML stream')
  docs.forEach((doc, i) => {
    if (doc.errors.length) throw invalid(file, `document ${i + 1}: ${doc.errors[0]?.message}`)
    const value = doc.toJS() as Record<string, unknown> | null
    if (value === null || value === undefined) return
    const kind = typeof value === 'object' ? value.kind : undefined
    const name = (value as { metadata?: { name?: string } }).metadata?.name ?? `document ${i + 1}`
    if (kind === 'Secret' && value.apiVersion === 'v1') {
      secrets.push(value as unknown as SecretDoc)
      return
    }
    if (kind !== 'Tenant' && kind !== 'RateLimitPolicy')
      throw invalid(file, `document ${i + 1}: kind ${String(kind)} is not Tenant, RateLimitPolicy or Secret`)
    const problems = validateResource(value)
    if (problems.length) throw invalid(file, `${kind} ${name}: ${problems.join('; ')}`)
    if (kind === 'Tenant') tenants.push(value as unknown as Tenant)
    else policies.push(value as unknown as RateLimitPolicy)
  })
  return { tenants, policies, secrets }
}

function pickTenant(file: string, tenants: Tenant[], name: string | undefined): Tenant {
  if (name) {
    const tenant = tenants.find((t) => t.metadata.name === name)
    if (!tenant) throw invalid(file, `no Tenant named ${name}`)
    return tenant
  }
  const [only, ...more] = tenants
  if (!only) throw invalid(file, 'no Tenant document')
  if (more.length) throw invalid(file, `${tenants.length} Tenants; choose one with --tenant`)
  return only
}

function secretValue(secret: SecretDoc, key: string): string | undefined {
  const plain = secret.stringData?.[key]
  if (plain !== undefined) return plain.trim()
  const encoded = secret.data?.[key]
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8').trim()
}
