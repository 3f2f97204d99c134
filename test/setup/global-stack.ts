import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type {} from 'vitest'
import type { TestProject } from 'vitest/node'
import { type StackEnv, startStack } from '../../hack/stack/stack.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackEnv
  }
}

/**
 * Starts one stack (etcd, kube-apiserver, Redis, Postgres, CRDs installed) for the whole run and
 * tears it down after, leaving no process behind. Test files reach it with `inject('stack')`.
 */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-test-'))
  const stack = await startStack({ dir })
  project.provide('stack', stack.env)
  return async () => {
    await stack.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
