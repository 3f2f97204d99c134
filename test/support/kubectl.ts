import { execFile } from 'node:child_process'
import { join } from 'node:path'
import type { StackEnv } from '../../hack/stack/stack.ts'

/** KubectlTarget is a stack or cluster: where kubectl is and which kubeconfig it uses. */
export type KubectlTarget = Pick<StackEnv, 'binDir' | 'kubeconfig'>

export interface KubectlResult {
  code: number
  stdout: string
  stderr: string
}

/** kubectl runs the stack's kubectl against its API server, with optional standard input. */
export function kubectl(stack: KubectlTarget, args: string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      join(stack.binDir, 'kubectl'),
      ['--kubeconfig', stack.kubeconfig, ...args],
      { maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
    child.stdin?.end(input ?? '')
  })
}

/** kubectlOK is kubectl that throws with stderr when the command fails. */
export async function kubectlOK(stack: KubectlTarget, args: string[], input?: string): Promise<string> {
  const result = await kubectl(stack, args, input)
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`)
  return result.stdout
}
