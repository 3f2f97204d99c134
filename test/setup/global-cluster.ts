import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type {} from 'vitest'
import type { TestProject } from 'vitest/node'
import { type ClusterStack, startClusterStack } from '../../hack/stack/cluster-stack.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where the cluster stack writes env.json once it is up, or error.txt when it failed. */
    clusterDir: string
  }
}

/**
 * Starts one real cluster with Tollgate installed for the whole run, in the background: the other
 * project's files run while the node boots, and test/cluster's files wait for it (clusterEnv() in
 * test/cluster/support.ts). Tears it down after, leaving no process, mount, namespace or cgroup.
 */
export default function setup(project: TestProject) {
  // For working on the cluster tests: TOLLGATE_CLUSTER_DIR names a folder whose env.json describes a
  // cluster stack that is already up (the tests disturb it and the last one uninstalls Tollgate).
  const reuse = process.env.TOLLGATE_CLUSTER_DIR
  if (reuse) {
    project.provide('clusterDir', reuse)
    return
  }
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-cluster-'))
  const log = join(dir, 'start.log')
  const started: Promise<ClusterStack | undefined> = startClusterStack({
    dir: join(dir, 'cluster'),
    log: (line) => writeFileSync(log, `${line}\n`, { flag: 'a' }),
  }).then(
    (stack) => {
      writeFileSync(join(dir, 'env.json'), JSON.stringify(stack.env))
      return stack
    },
    (error: Error) => {
      writeFileSync(join(dir, 'error.txt'), `${error.stack ?? error}\n${String(error.cause ?? '')}`)
      return undefined
    },
  )
  project.provide('clusterDir', dir)
  return async () => {
    await (await started)?.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
