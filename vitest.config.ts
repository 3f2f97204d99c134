import { defineConfig } from 'vitest/config'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

/**
 * ClusterLast keeps vitest's order for every project but `cluster`, whose files run in the order of
 * their names: they share one cluster, and the last uninstalls it. (A sequencer is an option of
 * the root config only.)
 */
class ClusterLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const cluster = files.filter((f) => f.project.name === 'cluster')
    const others = await super.sort(files.filter((f) => f.project.name !== 'cluster'))
    return [...others, ...cluster.sort((a, b) => a.moduleId.localeCompare(b.moduleId))]
  }
}

// One run starts each stack once and shares it with every test file through `inject`; tests
// isolate themselves by naming (unique tenant names, namespaces, databases), never by starting
// their own servers.
// - `stack`: etcd, kube-apiserver, Redis and Postgres on loopback, for everything but test/cluster.
// - `stack-cluster`: the same control plane and Postgres (test/setup/global-stack.ts shares them)
//   with a Redis Cluster (three masters, three replicas) instead of one Redis node, for the files
//   whose sidecars, limiter and operator work against the shared Redis (REDIS_SUITES), and the
//   failover test, which needs a cluster of its own.
// - `cluster`: a real node with Tollgate installed by its chart and the demo deployed
//   (hack/stack/cluster-stack.ts). It boots in the background while the other files run; its
//   files wait for it, then run one at a time, in name order, after all others.
/**
 * REDIS_SUITES run against both topologies: what the sidecar, the limiter and the operator do
 * with the shared stack's Redis. Files that stop or restart a Redis start a single node of their
 * own (privateRedis) and run in `stack` only.
 */
const REDIS_SUITES = [
  'sidecar/src/limits/redis-limiter.test.ts',
  'sidecar/src/limits/lease-limiter.test.ts',
  'sidecar/src/cache/response-cache.test.ts',
  'test/sidecar/limits.test.ts',
  'test/sidecar/leases.test.ts',
  'test/sidecar/usage.test.ts',
  'test/sidecar/cache.test.ts',
  'test/sidecar/managed.test.ts',
  'test/sidecar/deferred-calls.test.ts',
  'test/operator/reconcile.test.ts',
]

export default defineConfig({
  test: {
    // Most files wait on servers rather than compute, so two at a time fit two cores; the cluster
    // project runs its files one at a time all the same (fileParallelism: false).
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    teardownTimeout: 120_000,
    reporters: ['default'],
    sequence: { sequencer: ClusterLast },
    projects: [
      {
        extends: true,
        test: {
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          globalSetup: ['test/setup/global-cluster.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 900_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'stack',
          include: ['{api,operator,sidecar,test,hack}/**/*.test.ts'],
          exclude: ['**/node_modules/**', 'hack/tools/**', 'test/cluster/**', 'test/redis-cluster/**'],
          globalSetup: ['test/setup/global-stack.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'stack-cluster',
          include: [...REDIS_SUITES, 'test/redis-cluster/**/*.test.ts'],
          globalSetup: ['test/setup/global-stack-cluster.ts'],
          sequence: { groupOrder: 0 },
        },
      },
    ],
  },
})
