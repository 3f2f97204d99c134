import { API_VERSION } from './resources.ts'

/**
 * The credential exchange between a sidecar and the operator, in the shape of Istio's SDS and
 * Vault's agent injector: the pod's own ServiceAccount token in, short-lived material out, and
 * nothing secret in the injected pod template.
 *
 * The sidecar POSTs a CredentialRequest to `EXCHANGE_PATH` on the operator's webhook server (HTTPS,
 * the serving CA comes with the injected pod spec) with `authorization: Bearer <token>`, where the
 * token is the projected ServiceAccount token of audience `EXCHANGE_AUDIENCE` that only the sidecar
 * container mounts. The operator reviews the token (TokenReview), checks the pod it is bound to and
 * answers with a CredentialResponse, or an ExchangeError.
 */

/** EXCHANGE_AUDIENCE is the audience of the projected token: it is good for nothing else. */
export const EXCHANGE_AUDIENCE = 'tollgate.dev'

/** EXCHANGE_PATH is the route on the operator's webhook server. */
export const EXCHANGE_PATH = '/exchange'

/** TOKEN_DIR is where the webhook mounts the projected token into the sidecar (file `token`). */
export const TOKEN_DIR = '/var/run/secrets/tollgate.dev'
export const TOKEN_FILE = `${TOKEN_DIR}/token`

/**
 * TOKEN_EXPIRATION_SECONDS is the projected token's lifetime; 600 s is the least the API server
 * accepts. kubelet rewrites the file at 80% of it, the sidecar reads it again for every exchange.
 */
export const TOKEN_EXPIRATION_SECONDS = 600

/** CredentialRequest is the body of an exchange. */
export interface CredentialRequest {
  apiVersion: typeof API_VERSION
  kind: 'CredentialRequest'
  /** The tenant the sidecar was injected for; a mismatch with the pod's tenant is refused. */
  tenant: string
}

/** ProviderCredential is one provider's key, bound to the origin the Tenant names for it. */
export interface ProviderCredential {
  name: string
  /** `https://api.openai.com`: the sidecar sends the key to this origin and no other. */
  origin: string
  apiKey: string
}

/** ConfigKey is a public key that signs the tenant's compiled configs (SPKI PEM, Ed25519). */
export interface ConfigKey {
  id: string
  publicKey: string
}

/** CredentialResponse is what a pod that passed every check gets; it holds secrets. */
export interface CredentialResponse {
  apiVersion: typeof API_VERSION
  kind: 'CredentialResponse'
  tenant: string
  /** Providers of the tenant with a permitted credentialsSecretRef whose Secret and key exist. */
  providers: ProviderCredential[]
  /** The tenant's own Redis ACL user, limited to the tenant's keys and channel. */
  redis: { username: string; password: string }
  configKeys: ConfigKey[]
  issuedAt: string
  /** Ask again after this; the operator may be away for a while. */
  refreshAfter: string
  /** Stop using the material after this (the Redis password outlives it). */
  expiresAt: string
}

/** ExchangeError is the body of a refused exchange (401, 403, 400, 503). */
export interface ExchangeError {
  error: { code: string; message: string }
}

/** credentialRequest builds the request body for a tenant. */
export const credentialRequest = (tenant: string): CredentialRequest => ({
  apiVersion: API_VERSION,
  kind: 'CredentialRequest',
  tenant,
})

/**
 * parseCredentialResponse checks the parts of a response the sidecar relies on before using it,
 * and throws naming the first one that is wrong.
 */
export function parseCredentialResponse(value: unknown, tenant: string): CredentialResponse {
  const r = value as CredentialResponse
  if (r === null || typeof r !== 'object' || r.kind !== 'CredentialResponse')
    throw new Error('not a CredentialResponse')
  if (r.tenant !== tenant) throw new Error(`credentials are for tenant ${r.tenant}, not ${tenant}`)
  if (!Array.isArray(r.providers)) throw new Error('providers is not a list')
  for (const p of r.providers) {
    if (typeof p?.name !== 'string' || typeof p.apiKey !== 'string' || new URL(p.origin).origin !== p.origin)
      throw new Error('a provider credential has no name, key or origin')
  }
  if (typeof r.redis?.username !== 'string' || typeof r.redis.password !== 'string')
    throw new Error('no Redis credential')
  if (!Array.isArray(r.configKeys) || r.configKeys.length === 0) throw new Error('no config keys')
  for (const at of [r.issuedAt, r.refreshAfter, r.expiresAt])
    if (Number.isNaN(Date.parse(at))) throw new Error(`not a time: ${JSON.stringify(at)}`)
  return r
}
