import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AuthenticationV1Api, CoreV1Api, V1Pod } from '@kubernetes/client-node'
import {
  API_VERSION,
  type ConfigKey,
  type CredentialGrant,
  type CredentialRequest,
  type CredentialResponse,
  EXCHANGE_AUDIENCE,
  type ExchangeError,
  type Tenant,
  tenantAclUser,
} from '@tollgate/api'
import { Counter, type Registry } from 'prom-client'
import { bearerToken, reviewToken } from '../auth/token-review.ts'
import type { SecretReader } from '../credentials/secret-reader.ts'
import { ERROR_CODES, type ErrorCode } from '../errors.ts'
import type { RedisPasswords } from '../redis/redis-passwords.ts'
import { isNotFound } from '../runtime/kube.ts'
import type { Logger } from '../webhook/admission-handler.ts'
import { readBody } from '../webhook/admission-server.ts'
import type { Attestor } from '../webhook/attestation.ts'
import type { InjectionSources } from '../webhook/injection-sources.ts'
import { tenantsOwning } from '../webhook/tenant-ownership.ts'
import { providerCredentials } from './credential-material.ts'
import { type BoundPod, ineligibility } from './pod-eligibility.ts'

/** ExchangeDeps is what the exchange reads and hands out. */
export interface ExchangeDeps {
  authentication: AuthenticationV1Api
  core: CoreV1Api
  sources: InjectionSources & { grants(): CredentialGrant[] }
  secrets: SecretReader
  /** The operator's namespace: Secrets there need no CredentialGrant. */
  namespace: string
  configKeys: ConfigKey[]
  passwords: RedisPasswords
  attestor: Attestor
  /** How long the material may be used; sidecars ask again after a sixth of it. */
  ttlMs: number
  registry: Registry
  logger: Logger
  now?: () => Date
}

/** Refused is an exchange that ends in an error answer. */
class Refused extends Error {
  readonly status: 400 | 401 | 403 | 503
  readonly code: ErrorCode
  constructor(status: 400 | 401 | 403 | 503, code: ErrorCode, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

const SERVICE_ACCOUNT = /^system:serviceaccount:([^:]+):([^:]+)$/
const POD_NAME = 'authentication.kubernetes.io/pod-name'
const POD_UID = 'authentication.kubernetes.io/pod-uid'

/**
 * exchangeRoute is `POST /exchange` on the webhook's HTTPS server. The caller's bearer token must
 * be a ServiceAccount token of audience tollgate.dev (TokenReview) bound to a pod; that pod must
 * exist, live in a namespace exactly one Tenant claims, and pass `ineligibility`. Then it gets
 * that tenant's provider keys (permitted references only), its Redis user and the config keys,
 * with an expiry; everything else is a 401, 403 or 400 in one error shape, and a log line that
 * names the pod and the reason (never the token).
 */
export function exchangeRoute(deps: ExchangeDeps) {
  const exchanges = new Counter({
    name: 'tollgate_exchange_requests_total',
    help: 'Credential exchanges by result (issued, unauthenticated, refused, invalid, error).',
    labelNames: ['result'],
    registers: [deps.registry],
  })
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body: CredentialResponse | ExchangeError
    let status = 200
    try {
      body = await exchange(req, deps)
      exchanges.inc({ result: 'issued' })
    } catch (error) {
      if (!(error instanceof Refused)) deps.logger.error({ err: error }, 'credential exchange failed')
      const refused =
        error instanceof Refused
          ? error
          : new Refused(503, ERROR_CODES.KUBE_API, 'the operator could not check the pod; try again')
      status = refused.status
      exchanges.inc({
        result:
          status === 401
            ? 'unauthenticated'
            : status === 403
              ? 'refused'
              : status === 400
                ? 'invalid'
                : 'error',
      })
      body = { error: { code: refused.code, message: refused.message } }
    }
    const text = JSON.stringify(body)
    res
      .writeHead(status, {
        'content-type': 'application/json',
        'cache-control': 'no-store',
        ...(status === 401 && { 'www-authenticate': 'Bearer realm="tollgate-exchange"' }),
      })
      .end(text)
  }
}

async function exchange(req: IncomingMessage, deps: ExchangeDeps): Promise<CredentialResponse> {
  const token = bearerToken(req.headers.authorization)
  if (!token) throw new Refused(401, ERROR_CODES.UNAUTHENTICATED, 'a bearer token is required')
  const request = parseRequest(await readBody(req, 64 * 1024))
  const user = await reviewToken(deps.authentication, token, EXCHANGE_AUDIENCE)
  if (!user)
    throw new Refused(
      401,
      ERROR_CODES.UNAUTHENTICATED,
      `the token is not a valid ServiceAccount token of audience ${EXCHANGE_AUDIENCE}`,
    )
  const bound = boundPod(user.username, user.extra)
  const refuse = (message: string): never => {
    deps.logger.warn({ namespace: bound.namespace, name: bound.name, reason: message }, 'exchange refused')
    throw new Refused(403, ERROR_CODES.EXCHANGE_REFUSED, message)
  }
  const pod = await readPod(deps.core, bound)
  if (!pod) refuse(`pod ${bound.namespace}/${bound.name} does not exist`)
  const tenant = await owningTenant(deps.sources, bound.namespace)
  if (!tenant) refuse(`namespace ${bound.namespace} belongs to no single Tenant`)
  const name = (tenant as Tenant).metadata.name
  if (request.tenant !== name)
    refuse(
      `the sidecar asks for tenant ${request.tenant}, but namespace ${bound.namespace} belongs to ${name}`,
    )
  const reason = ineligibility(pod as V1Pod, bound, name, deps.attestor)
  if (reason) refuse(reason)
  const now = deps.now?.() ?? new Date()
  const providers = await providerCredentials(
    tenant as Tenant,
    deps.secrets,
    deps.namespace,
    deps.sources.grants(),
  )
  deps.logger.info(
    { namespace: bound.namespace, name: bound.name, tenant: name, providers: providers.map((p) => p.name) },
    'credentials issued',
  )
  return {
    apiVersion: API_VERSION,
    kind: 'CredentialResponse',
    tenant: name,
    providers,
    redis: { username: tenantAclUser(name), password: deps.passwords.current(name, now) },
    configKeys: deps.configKeys,
    issuedAt: now.toISOString(),
    refreshAfter: new Date(now.getTime() + Math.floor(deps.ttlMs / 6)).toISOString(),
    expiresAt: new Date(now.getTime() + deps.ttlMs).toISOString(),
  }
}

function parseRequest(text: string | undefined): CredentialRequest {
  let value: CredentialRequest | undefined
  try {
    value = text ? JSON.parse(text) : undefined
  } catch {}
  if (value?.kind !== 'CredentialRequest' || typeof value.tenant !== 'string')
    throw new Refused(400, ERROR_CODES.INVALID_REQUEST, 'expected a tollgate.dev/v1alpha1 CredentialRequest')
  return value
}

/** boundPod reads the pod a projected token is bound to from the TokenReview's user. */
function boundPod(username: string, extra: Record<string, string[]>): BoundPod {
  const account = SERVICE_ACCOUNT.exec(username)
  const name = extra[POD_NAME]?.[0]
  const uid = extra[POD_UID]?.[0]
  if (!account || !name || !uid)
    throw new Refused(
      403,
      ERROR_CODES.EXCHANGE_REFUSED,
      `${username} is not a ServiceAccount token bound to a pod (a projected token of the pod's own)`,
    )
  return { namespace: account[1] as string, serviceAccount: account[2] as string, name, uid }
}

async function readPod(core: CoreV1Api, bound: BoundPod): Promise<V1Pod | undefined> {
  try {
    return await core.readNamespacedPod({ namespace: bound.namespace, name: bound.name })
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw new Error(`read pod ${bound.namespace}/${bound.name}`, { cause: error })
  }
}

async function owningTenant(sources: InjectionSources, namespace: string): Promise<Tenant | undefined> {
  const info = await sources.namespace(namespace)
  if (!info) return undefined
  const owners = tenantsOwning(await sources.tenants(), info)
  const [tenant] = owners
  return owners.length === 1 && tenant && !tenant.metadata.deletionTimestamp ? tenant : undefined
}
