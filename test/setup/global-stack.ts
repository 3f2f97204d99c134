import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type {} from 'vitest'
import type { TestProject } from 'vitest/node'
import { type RedisMode, type StackEnv, startStack } from '../../hack/stack/stack.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackEnv
  }
}

/**
 * setupStack starts one stack (etcd, kube-apiserver, Redis in the given topology, Postgres, CRDs
 * installed) for the whole run of a project and tears it down after, leaving no process behind.
 * Test files reach it with `inject('stack')`.
 */
export async function setupStack(project: TestProject, redisMode: RedisMode) {
  const dir = mkdtempSync(join(tmpdir(), `tollgate-test-${redisMode}-`))
  const stack = await startStack({ dir, redisMode })
  project.provide('stack', stack.env)
  return async () => {
    await stack.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The `stack` project: one Redis node. */
export default (project: TestProject) => setupStack(project, 'single')
