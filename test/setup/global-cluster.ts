import { spawn } from 'node:child_process'
import { closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type {} from 'vitest'
import type { TestProject } from 'vitest/node'
import { sweepCluster } from '../../hack/stack/cluster.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where the cluster stack writes env.json once it is up, or error.txt when it failed. */
    clusterDir: string
  }
}

const root = new URL('../..', import.meta.url).pathname

/**
 * Starts one real cluster with Tollgate installed for the whole run, in the background: the other
 * projects' files run while the node boots, and test/cluster's files wait for it (clusterEnv() in
 * test/cluster/support.ts). The boot is `npm run cluster:up`'s command in a child process: it runs
 * helm and kubectl for minutes, which must not hold up this process, vitest's own, where the other
 * stacks start and every worker reports. Tears it down after, leaving no process, mount, namespace
 * or cgroup.
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
  const out = openSync(log, 'a')
  const boot = spawn(process.execPath, [join(root, 'hack/cluster.ts'), 'up', '--state', dir], {
    cwd: root,
    stdio: ['ignore', out, out],
  })
  closeSync(out)
  const booted = new Promise<void>((resolve) => {
    boot.once('exit', (code, signal) => {
      if (code === 0) copyFileSync(join(dir, 'cluster/env.json'), join(dir, 'env.json'))
      else {
        const tail = readFileSync(log, 'utf8').split('\n').slice(-60).join('\n')
        writeFileSync(join(dir, 'error.txt'), `hack/cluster.ts up ended with ${code ?? signal}:\n${tail}`)
      }
      resolve()
    })
  })
  project.provide('clusterDir', dir)
  return async () => {
    boot.kill('SIGTERM')
    await booted
    await sweepCluster(join(dir, 'cluster'))
    rmSync(dir, { recursive: true, force: true })
  }
}
