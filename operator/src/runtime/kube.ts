import {
  ApiException,
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from '@kubernetes/client-node'

/** KubeClients are the API clients the operator uses, built from one KubeConfig. */
export interface KubeClients {
  config: KubeConfig
  core: CoreV1Api
  custom: CustomObjectsApi
  coordination: CoordinationV1Api
  /** TokenReview: who a bearer token belongs to. */
  authentication: AuthenticationV1Api
  /** SubjectAccessReview: what that user may do. */
  authorization: AuthorizationV1Api
  watch: Watch
}

/** loadKubeConfig reads a kubeconfig file, or the in-cluster/default config when none is given. */
export function loadKubeConfig(file?: string): KubeConfig {
  const config = new KubeConfig()
  if (file) config.loadFromFile(file)
  else config.loadFromDefault()
  reuseConnections(config)
  return config
}

/**
 * reuseConnections makes every request of a KubeConfig share one undici Agent. The client
 * (@kubernetes/client-node 2.0) builds a new Agent per request, so each call pays a fresh TCP and
 * TLS handshake: about 15 ms on the API server and here, which capped reconciles at a few dozen
 * per second. The Agent depends only on the cluster's TLS settings, which do not change while the
 * process runs (one Agent per API server URL) (tokens are headers, applied per request as before). Remove when the client
 * caches its dispatcher itself.
 */
export function reuseConnections(config: KubeConfig): void {
  const target = config as unknown as { createDispatcher: (...args: unknown[]) => unknown }
  const create = target.createDispatcher.bind(config)
  const cache = new Map<string, unknown>()
  target.createDispatcher = (cluster: unknown, agentOptions: unknown) => {
    const key = (cluster as { server?: string } | null)?.server ?? ''
    if (!cache.has(key)) cache.set(key, create(cluster, agentOptions))
    return cache.get(key)
  }
}

/** createKubeClients builds the API clients of one KubeConfig. */
export function createKubeClients(config: KubeConfig): KubeClients {
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    custom: config.makeApiClient(CustomObjectsApi),
    coordination: config.makeApiClient(CoordinationV1Api),
    authentication: config.makeApiClient(AuthenticationV1Api),
    authorization: config.makeApiClient(AuthorizationV1Api),
    watch: new Watch(config),
  }
}

/** MERGE_PATCH sends a body as a JSON merge patch (RFC 7386). */
export const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch)

/** statusCode is the HTTP status of an API error, if it is one. */
export function statusCode(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code
  const code = (error as { code?: unknown; statusCode?: unknown } | undefined)?.statusCode
  return typeof code === 'number' ? code : undefined
}

export const isNotFound = (error: unknown) => statusCode(error) === 404
export const isConflict = (error: unknown) => statusCode(error) === 409
export const isGone = (error: unknown) => statusCode(error) === 410

/** ListPage is one page of a list call. */
export interface ListPage<T> {
  items: T[]
  metadata?: { resourceVersion?: string; _continue?: string; continue?: string }
}

/**
 * listAll follows `continue` tokens and returns every item and the list's resourceVersion (the
 * point a watch resumes from). Pages keep memory flat while the API server serves large lists.
 */
export async function listAll<T>(
  page: (options: { limit: number; _continue?: string }) => Promise<ListPage<T>>,
  limit = 500,
): Promise<{ items: T[]; resourceVersion: string }> {
  const items: T[] = []
  let token: string | undefined
  let resourceVersion = ''
  do {
    const result = await page({ limit, ...(token && { _continue: token }) })
    items.push(...result.items)
    resourceVersion = result.metadata?.resourceVersion ?? resourceVersion
    token = result.metadata?._continue ?? result.metadata?.continue
  } while (token)
  return { items, resourceVersion }
}
