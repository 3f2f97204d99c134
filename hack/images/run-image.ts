// Runs a command in a built image without a cluster, the way a locked-down pod runs it: runc on
// the image's root filesystem (from buildah), read-only, as the image's user, with every
// capability dropped, no new privileges, and a network namespace holding only `lo` (its own, or
// that of another container, as the containers of one pod share theirs). Only the folders a
// caller names are writable (empty folders, standing in for emptyDirs); files can be mounted
// read-only (standing in for ConfigMaps).
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Buildah } from './buildah.ts'
import { runCommand } from './command.ts'
import { defaultImageDir, ImageCache } from './image-cache.ts'
import type { ImageConfig } from './oci-archive.ts'
import type { BuiltImage } from './recipe.ts'

/** RunOptions change what `docker run` would change. */
export interface RunOptions {
  /** Replaces the image's Cmd. */
  args?: string[]
  /** Replaces the image's Entrypoint (and drops its Cmd, as `docker run --entrypoint` does). */
  entrypoint?: string[]
  env?: Record<string, string>
  /** `uid[:gid]` or a name from the image's /etc/passwd; default the image's User. */
  user?: string
  /** Folders that get an empty writable volume (mode 0777, like an emptyDir); the rest is read-only. */
  writable?: string[]
  /** Container path → host file or folder, mounted read-only. */
  files?: Record<string, string>
  /** Join this running container's network namespace, as a second container of its pod. */
  network?: Container
  /** A run is killed after this long (default 60 s); a started container is not. */
  timeoutMs?: number
}

/** RunResult is how the command ended and what it printed. */
export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

/** Container is a container started in the background. */
export interface Container {
  /** Its process, as the host sees it; undefined when it ended at once. */
  pid: number | undefined
  /** What it printed so far. */
  output(): string
  /** waitFor resolves once the output matches, and rejects when the container ends first or after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>
  /** stop sends SIGTERM (SIGKILL after graceMs) and returns how it ended. */
  stop(graceMs?: number): Promise<RunResult>
}

/** ImageRunner holds an image's root filesystem for any number of containers; close() releases it. */
export class ImageRunner {
  readonly image: BuiltImage
  readonly config: ImageConfig
  readonly rootfs: string
  readonly #buildah: Buildah
  readonly #container: string
  readonly #stateDir: string
  #runs = 0

  private constructor(
    image: BuiltImage,
    buildah: Buildah,
    container: string,
    rootfs: string,
    config: ImageConfig,
    stateDir: string,
  ) {
    this.image = image
    this.#buildah = buildah
    this.#container = container
    this.rootfs = rootfs
    this.config = config
    this.#stateDir = stateDir
  }

  /** open imports the image's archive into buildah's store (layers already there are reused) and mounts it. */
  static async open(image: BuiltImage): Promise<ImageRunner> {
    const cache = new ImageCache(defaultImageDir())
    const buildah = new Buildah(cache.path('buildah'))
    const name = `tollgate-check-${image.name}-${process.pid}`
    const container = await buildah.from(`oci-archive:${image.archive}`, name)
    try {
      const rootfs = await buildah.mount(container)
      const config = await buildah.config(container)
      return new ImageRunner(image, buildah, container, rootfs, config, cache.path('runc', name))
    } catch (error) {
      await buildah.remove(container)
      throw error
    }
  }

  /** run runs one command in a fresh container and waits for its end. */
  async run(options: RunOptions = {}): Promise<RunResult> {
    const container = await this.start(options)
    const timer = setTimeout(() => void container.stop(0), options.timeoutMs ?? 60_000)
    try {
      return await container.ended
    } finally {
      clearTimeout(timer)
      await container.stop()
    }
  }

  /** start starts a container in the background; it runs until it ends or is stopped. */
  async start(options: RunOptions = {}): Promise<Container & { ended: Promise<RunResult> }> {
    const id = `${this.#container}-${++this.#runs}`
    const bundle = join(this.#stateDir, id)
    await mkdir(bundle, { recursive: true })
    const volumes: [string, string][] = []
    for (const [i, dir] of (options.writable ?? []).entries()) {
      const source = join(bundle, 'volumes', String(i))
      await mkdir(source, { recursive: true })
      await chmod(source, 0o777)
      volumes.push([dir, source])
    }
    await writeFile(join(bundle, 'config.json'), JSON.stringify(this.#spec(options, volumes)))
    const runc = ['--root', join(this.#stateDir, 'state')]
    const child: ChildProcess = spawn('runc', [...runc, 'run', '--bundle', bundle, id], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    const watchers = new Set<() => void>()
    const seen = (into: Buffer[]) => (chunk: Buffer) => {
      into.push(chunk)
      for (const watcher of watchers) watcher()
    }
    child.stdout?.on('data', seen(out))
    child.stderr?.on('data', seen(err))
    const output = () => Buffer.concat(out).toString('utf8') + Buffer.concat(err).toString('utf8')
    let done = false
    const ended = new Promise<RunResult>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (code, signal) => {
        done = true
        for (const watcher of watchers) watcher()
        resolve({
          code: code ?? (signal ? 128 : 1),
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        })
      })
    })
    let removed: Promise<void> | undefined
    const remove = () => {
      removed ??= (async () => {
        await ended.catch(() => {})
        await runCommand('runc', [...runc, 'delete', '--force', id]).catch(() => {})
        await rm(bundle, { recursive: true, force: true })
      })()
      return removed
    }
    const stop = async (graceMs = 10_000) => {
      if (!done) {
        await runCommand('runc', [...runc, 'kill', id, 'TERM']).catch(() => {})
        const result = await Promise.race([ended, sleep(graceMs).then(() => undefined)])
        if (!result) await runCommand('runc', [...runc, 'kill', id, 'KILL']).catch(() => {})
      }
      await remove()
      return ended
    }
    const pid = await containerPid(runc, id, () => done)
    const waitFor = (pattern: RegExp, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`no ${pattern} within ${timeoutMs} ms`)), timeoutMs)
        const check = () => {
          if (pattern.test(output())) finish()
          else if (done)
            finish(new Error(`${this.image.name} ended before printing ${pattern}: ${output().slice(-2000)}`))
        }
        const finish = (error?: Error) => {
          clearTimeout(timer)
          watchers.delete(check)
          if (error) reject(error)
          else resolve()
        }
        watchers.add(check)
        check()
      })
    return { pid, output, waitFor, stop, ended }
  }

  /** close unmounts and removes the working container. */
  async close(): Promise<void> {
    await this.#buildah.remove(this.#container)
    await rm(this.#stateDir, { recursive: true, force: true })
  }

  #spec(options: RunOptions, volumes: [string, string][]) {
    const { config } = this
    const entrypoint = options.entrypoint ?? config.Entrypoint ?? []
    const args = [...entrypoint, ...(options.args ?? (options.entrypoint ? [] : (config.Cmd ?? [])))]
    if (args.length === 0) throw new Error(`${this.image.name}: nothing to run`)
    const env = new Map((config.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e]))
    for (const [name, value] of Object.entries(options.env ?? {})) env.set(name, `${name}=${value}`)
    const mount = (destination: string, type: string, source: string, mountOptions: string[]) => ({
      destination,
      type,
      source,
      options: mountOptions,
    })
    const namespaces = ['pid', 'ipc', 'uts', 'mount'].map((type): { type: string; path?: string } => ({
      type,
    }))
    if (options.network && options.network.pid === undefined) throw new Error('that container is not running')
    namespaces.push(
      options.network
        ? { type: 'network', path: `/proc/${options.network.pid}/ns/net` }
        : { type: 'network' },
    )
    return {
      ociVersion: '1.0.2',
      process: {
        terminal: false,
        user: this.#user(options.user ?? config.User ?? '0'),
        args,
        env: [...env.values()],
        cwd: config.WorkingDir || '/',
        capabilities: { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] },
        noNewPrivileges: true,
      },
      root: { path: this.rootfs, readonly: true },
      hostname: this.image.name,
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        mount('/dev', 'tmpfs', 'tmpfs', ['nosuid', 'strictatime', 'mode=755', 'size=65536k']),
        mount('/dev/pts', 'devpts', 'devpts', [
          'nosuid',
          'noexec',
          'newinstance',
          'ptmxmode=0666',
          'mode=0620',
        ]),
        mount('/dev/shm', 'tmpfs', 'shm', ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k']),
        mount('/dev/mqueue', 'mqueue', 'mqueue', ['nosuid', 'noexec', 'nodev']),
        mount('/sys', 'sysfs', 'sysfs', ['nosuid', 'noexec', 'nodev', 'ro']),
        ...volumes.map(([destination, source]) => mount(destination, 'bind', source, ['rbind', 'rw'])),
        ...Object.entries(options.files ?? {}).map(([destination, source]) =>
          mount(destination, 'bind', source, ['rbind', 'ro']),
        ),
      ],
      linux: {
        namespaces,
        maskedPaths: [
          '/proc/acpi',
          '/proc/kcore',
          '/proc/keys',
          '/proc/latency_stats',
          '/proc/timer_list',
          '/proc/sched_debug',
          '/sys/firmware',
          '/proc/scsi',
        ],
        readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
      },
    }
  }

  /** #user resolves `uid[:gid]` or names against the image's own /etc/passwd and /etc/group. */
  #user(spec: string): { uid: number; gid: number } {
    const table = (file: string) => {
      try {
        return readFileSync(join(this.rootfs, file), 'utf8')
          .split('\n')
          .map((line) => line.split(':'))
      } catch {
        return []
      }
    }
    const [user = '0', group] = spec.split(':')
    const passwd = table('etc/passwd').find((entry) => entry[0] === user || entry[2] === user)
    const uid = /^\d+$/.test(user) ? Number(user) : Number(passwd?.[2] ?? Number.NaN)
    const gid =
      group === undefined
        ? Number(passwd?.[3] ?? 0)
        : /^\d+$/.test(group)
          ? Number(group)
          : Number(table('etc/group').find((entry) => entry[0] === group)?.[2] ?? Number.NaN)
    if (Number.isNaN(uid) || Number.isNaN(gid)) throw new Error(`${this.image.name}: unknown user ${spec}`)
    return { uid, gid }
  }
}

/** containerPid waits until runc reports the container running and returns its pid; undefined if it ended. */
async function containerPid(runc: string[], id: string, ended: () => boolean): Promise<number | undefined> {
  for (let i = 0; i < 200 && !ended(); i++) {
    const state = await runCommand('runc', [...runc, 'state', id]).catch(() => undefined)
    if (state) {
      const { status, pid } = JSON.parse(state) as { status: string; pid: number }
      if (status === 'running' && pid > 0) return pid
      if (status === 'stopped') return undefined
    }
    await sleep(25)
  }
  return undefined
}
