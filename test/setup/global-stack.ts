import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type {} from 'vitest'
import type { TestProject } from 'vitest/node'
import { type RedisMode, type Stack, type StackEnv, startStack } from '../../hack/stack/stack.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackEnv
  }
}

/**
 * The first stack a run starts lends its control plane and Postgres to the next (vitest runs the
 * projects' global setups one after another, in one process), and is closed after the last.
 */
interface Shared {
  first: Stack
  users: number
  dir: string
}
const SHARED = Symbol.for('tollgate.test.shared-stack')
const registry = globalThis as { [SHARED]?: Shared }

/**
 * setupStack gives a project the stack of this run in the given Redis topology (etcd,
 * kube-apiserver, Postgres with the CRDs installed, and its own Redis) and tears it down after,
 * leaving no process behind. Test files reach it with `inject('stack')`.
 */
export async function setupStack(project: TestProject, redisMode: RedisMode) {
  const dir = mkdtempSync(join(tmpdir(), `tollgate-test-${redisMode}-`))
  const shared = registry[SHARED]
  const stack = await startStack({ dir, redisMode, ...(shared && { base: shared.first }) })
  if (shared) shared.users += 1
  else registry[SHARED] = { first: stack, users: 1, dir }
  project.provide('stack', stack.env)
  return async () => {
    const own = registry[SHARED]
    if (own?.first !== stack) {
      await stack.close()
      rmSync(dir, { recursive: true, force: true })
    }
    if (!own) return
    own.users -= 1
    if (own.users === 0) {
      await own.first.close()
      rmSync(own.dir, { recursive: true, force: true })
      delete registry[SHARED]
    }
  }
}

/** The `stack` project: one Redis node. */
export default (project: TestProject) => setupStack(project, 'single')
