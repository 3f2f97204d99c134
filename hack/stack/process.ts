import { type ChildProcess, spawn } from 'node:child_process'
import { openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** freePort asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (!address || typeof address === 'string') throw new Error('no port from the kernel')
  return address.port
}

/** ServerProcess is one server of the stack, started detached in its own process group. */
export class ServerProcess {
  readonly name: string
  readonly #command: string
  readonly #args: string[]
  readonly #logFile: string
  #child: ChildProcess | undefined
  #exited: Promise<void> = Promise.resolve()

  constructor(name: string, command: string, args: string[], logFile: string) {
    this.name = name
    this.#command = command
    this.#args = args
    this.#logFile = logFile
  }

  get pid(): number | undefined {
    return this.#child?.pid
  }

  /** start spawns the server; it keeps running when this Node process exits (env:up relies on that). */
  start(): void {
    const log = openSync(this.#logFile, 'a')
    const child = spawn(this.#command, this.#args, { detached: true, stdio: ['ignore', log, log] })
    this.#child = child
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()))
    child.once('error', () => {})
    child.unref()
  }

  /** running is false once the process has exited. */
  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null
  }

  /** stop sends SIGTERM to the process group, then SIGKILL after a grace period. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.#child
    if (!child?.pid || !this.running) return
    killGroup(child.pid, 'SIGTERM')
    const done = await Promise.race([this.#exited.then(() => true), sleep(graceMs).then(() => false)])
    if (!done) {
      killGroup(child.pid, 'SIGKILL')
      await this.#exited
    }
    this.#child = undefined
  }

  /** kill ends the process group at once with SIGKILL, as a crash or an OOM kill would. */
  async kill(): Promise<void> {
    const child = this.#child
    if (!child?.pid || !this.running) return
    killGroup(child.pid, 'SIGKILL')
    await this.#exited
    this.#child = undefined
  }
}

/** killGroup signals a detached process's whole group; a group already gone is fine. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
  }
}

/** waitFor polls check until it returns true, failing with what the server logged. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  // Check once more after the deadline: a loop that was kept busy past it (a synchronous child
  // process elsewhere in this process) must not fail a server that is up.
  for (let done = false; !done; ) {
    done = Date.now() >= deadline
    try {
      if (await check()) return
    } catch (error) {
      last = error
    }
    if (!done) await sleep(100)
  }
  throw new Error(`${what} was not ready after ${timeoutMs} ms`, { cause: last })
}

const SERVERS = new Set(['redis-server', 'postgres', 'etcd', 'kube-apiserver'])

/**
 * pidsUsing lists processes whose command line mentions path or whose working directory is under
 * it: the stack's servers all name their folder, except redis-server, which rewrites its process
 * title but runs in its data folder.
 */
export function pidsUsing(path: string): number[] {
  // Only our servers match by folder, so a shell that happens to sit in it is left alone.
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    try {
      const inFolder = () =>
        SERVERS.has(readFileSync(`/proc/${entry}/comm`, 'utf8').trim()) &&
        readlinkSync(`/proc/${entry}/cwd`).startsWith(path)
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(path) || inFolder())
        pids.push(Number(entry))
    } catch {
      // the process ended while we looked, or is not ours to inspect
    }
  }
  return pids
}
