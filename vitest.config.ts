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
// - `cluster`: a real node with Tollgate installed by its chart and the demo deployed
//   (hack/stack/cluster-stack.ts). It boots in the background while the other files run; its
//   files wait for it, then run one at a time, in name order, after all others.
export default defineConfig({
  test: {
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
          exclude: ['**/node_modules/**', 'hack/tools/**', 'test/cluster/**'],
          globalSetup: ['test/setup/global-stack.ts'],
          sequence: { groupOrder: 0 },
        },
      },
    ],
  },
})
