import { type ChildProcess, spawn } from 'node:child_process'
import { openSync } from 'node:fs'

const root = new URL('../..', import.meta.url).pathname
const node = `${root}node_modules/.bin/node`

/**
 * NodeChild is one Tollgate process of the soak (an operator replica, a sidecar), run from
 * source with the project's Node, its output appended to a log file. kill() is SIGKILL, as a
 * crash or an OOM kill; start() runs it again with the same arguments.
 */
export class NodeChild {
  readonly name: string
  readonly #args: string[]
  readonly #env: NodeJS.ProcessEnv
  readonly #log: string
  #child: ChildProcess | undefined
  #exited: Promise<void> = Promise.resolve()

  constructor(name: string, args: string[], log: string, env: NodeJS.ProcessEnv = {}) {
    this.name = name
    this.#args = args
    this.#log = log
    this.#env = env
  }

  start(): void {
    const out = openSync(this.#log, 'a')
    const child = spawn(node, this.#args, {
      cwd: root,
      env: { ...process.env, ...this.#env },
      stdio: ['ignore', out, out],
    })
    this.#child = child
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()))
    child.once('error', () => {})
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null
  }

  async kill(): Promise<void> {
    if (this.running) this.#child?.kill('SIGKILL')
    await this.#exited
  }

  /** stop asks for a clean exit (SIGTERM) and kills after graceMs. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return
    this.#child?.kill('SIGTERM')
    const timer = setTimeout(() => this.#child?.kill('SIGKILL'), graceMs)
    await this.#exited
    clearTimeout(timer)
  }
}
