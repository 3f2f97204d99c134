import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RedisMode } from '@tollgate/api/redis-mode.ts'
import { type ControlPlane, startControlPlane } from './control-plane.ts'
import { type PostgresService, startPostgres } from './postgres.ts'
import { type RedisService, startRedis } from './redis.ts'
import { type RedisClusterService, startRedisCluster } from './redis-cluster.ts'

export type { RedisMode }

/** StackEnv is what tests and developers need to reach the stack. */
export interface StackEnv {
  kubeconfig: string
  apiServerURL: string
  /** redisUrl is the operator's Redis user (operatorAclRules); standalone sidecars use it too. */
  redisUrl: string
  /** redisAdminUrl may do anything: for tests that list or kill clients, flush, or read any key. */
  redisAdminUrl: string
  /** redisSidecarUrl carries no credential: managed sidecars log in with their tenant's user. */
  redisSidecarUrl: string
  /** redisMode says how to connect to those URLs: one node, or a seed node of a Redis Cluster. */
  redisMode: RedisMode
  databaseUrl: string
  /** Holds kubectl, helm and kube-apiserver. */
  binDir: string
  dir: string
}

export interface Stack {
  env: StackEnv
  controlPlane: ControlPlane
  redis: RedisService | RedisClusterService
  postgres: PostgresService
  /** pids of every server, for env:down. */
  pids(): number[]
  close(): Promise<void>
}

const root = new URL('../..', import.meta.url).pathname

/** defaultBinDir is where hack/build-k8s.sh caches the binaries it builds. */
export const defaultBinDir = () =>
  process.env.TOLLGATE_BIN_DIR ??
  join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/root', '.cache'), 'tollgate/bin')

/**
 * StackBase is the part of a stack two stacks may share: the control plane with the CRDs installed,
 * and Postgres. Tests isolate themselves by naming, so the `stack` and `stack-cluster` projects
 * of one run use one base and differ only in their Redis.
 */
export interface StackBase {
  controlPlane: ControlPlane
  postgres: PostgresService
}

/**
 * startStack starts etcd + kube-apiserver, Redis (one node, or with `redisMode: 'cluster'` a
 * three-master, three-replica Redis Cluster) and Postgres on free loopback ports under dir,
 * installs the CRDs from crds/ and waits until they are Established. Given a base, it starts only
 * the Redis and leaves the base to its owner: the stack's close() does not stop it.
 */
export async function startStack(options: {
  dir: string
  binDir?: string
  redisMode?: RedisMode
  base?: StackBase
}): Promise<Stack> {
  const { dir, base } = options
  const redisMode = options.redisMode ?? 'single'
  const binDir = options.binDir ?? defaultBinDir()
  mkdirSync(dir, { recursive: true })
  chmodSync(dir, 0o755) // Postgres runs as its own user when we are root and must reach its folder.
  const started = await Promise.allSettled([
    base ? undefined : startControlPlane({ dir: join(dir, 'kube'), binDir }),
    redisMode === 'cluster'
      ? startRedisCluster({ dir: join(dir, 'redis') })
      : startRedis({ dir: join(dir, 'redis') }),
    base ? undefined : startPostgres({ dir: join(dir, 'postgres') }),
  ] as const)
  const failed = started.find((s) => s.status === 'rejected')
  if (failed) {
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value?.close() : undefined)))
    throw failed.reason
  }
  const [ownControlPlane, redis, ownPostgres] = started.map(
    (s) => (s as PromiseFulfilledResult<unknown>).value,
  ) as [ControlPlane | undefined, RedisService | RedisClusterService, PostgresService | undefined]
  const controlPlane = base?.controlPlane ?? (ownControlPlane as ControlPlane)
  const postgres = base?.postgres ?? (ownPostgres as PostgresService)
  const services = base ? [redis] : [controlPlane, redis, postgres]
  const kubectl = (...args: string[]) => {
    try {
      execFileSync(join(binDir, 'kubectl'), ['--kubeconfig', controlPlane.kubeconfig, ...args], {
        stdio: 'pipe',
      })
    } catch (error) {
      throw new Error(
        `kubectl ${args.join(' ')}: ${(error as { stderr?: Buffer }).stderr?.toString().trim()}`,
      )
    }
  }
  if (!base) {
    try {
      kubectl('apply', '-f', join(root, 'crds'))
      kubectl('wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all')
    } catch (error) {
      await Promise.all(services.map((s) => s.close()))
      throw error
    }
  }
  const env: StackEnv = {
    kubeconfig: controlPlane.kubeconfig,
    apiServerURL: controlPlane.url,
    redisUrl: redis.url,
    redisAdminUrl: redis.adminUrl,
    redisSidecarUrl: redis.sidecarUrl,
    redisMode,
    databaseUrl: postgres.url,
    binDir,
    dir,
  }
  // The file holds the Redis passwords, so it is the user's alone.
  writeFileSync(
    join(dir, 'env'),
    [
      `KUBECONFIG=${env.kubeconfig}`,
      `TOLLGATE_REDIS_URL=${env.redisUrl}`,
      `TOLLGATE_REDIS_ADMIN_URL=${env.redisAdminUrl}`,
      `TOLLGATE_REDIS_SIDECAR_URL=${env.redisSidecarUrl}`,
      `TOLLGATE_REDIS_MODE=${env.redisMode}`,
      `TOLLGATE_DATABASE_URL=${env.databaseUrl}`,
      `PATH=${binDir}:$PATH`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  )
  return {
    env,
    controlPlane,
    redis,
    postgres,
    pids: () => services.flatMap((s) => s.pids()).filter((pid): pid is number => pid !== undefined),
    close: async () => {
      await Promise.all(services.map((s) => s.close()))
    },
  }
}
