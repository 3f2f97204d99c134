// Runs a command in a built image without a cluster, the way a locked-down pod runs it: runc on
// the image's root filesystem (from buildah), read-only, as the image's user, with every
// capability dropped, no new privileges, and a network namespace of its own holding only `lo`.
// Only the folders a test names are writable (tmpfs, standing in for the pod's emptyDirs).
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
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
  /** Folders that get an empty writable volume, as emptyDirs; the rest of the root filesystem is read-only. */
  writable?: string[]
  /** Kill the container after this long (default 60 s). */
  timeoutMs?: number
}

/** RunResult is how the command ended and what it printed. */
export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

/** ImageRunner holds an image's root filesystem for any number of runs; close() releases it. */
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

  /** run runs one command in a fresh container on the image's root filesystem. */
  async run(options: RunOptions = {}): Promise<RunResult> {
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
    try {
      return await new Promise<RunResult>((resolve, reject) => {
        const child = spawn('runc', [...runc, 'run', '--bundle', bundle, id], {
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        const out: Buffer[] = []
        const err: Buffer[] = []
        child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
        child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
        const timer = setTimeout(() => {
          runCommand('runc', [...runc, 'kill', id, 'KILL']).catch(() => {})
        }, options.timeoutMs ?? 60_000)
        child.once('error', reject)
        child.once('close', (code, signal) => {
          clearTimeout(timer)
          resolve({
            code: code ?? (signal ? 128 : 1),
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(err).toString('utf8'),
          })
        })
      })
    } finally {
      await runCommand('runc', [...runc, 'delete', '--force', id]).catch(() => {})
      await rm(bundle, { recursive: true, force: true })
    }
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
    const tmpfs = (destination: string, options: string[]) => ({
      destination,
      type: 'tmpfs',
      source: 'tmpfs',
      options,
    })
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
      hostname: 'image-check',
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        tmpfs('/dev', ['nosuid', 'strictatime', 'mode=755', 'size=65536k']),
        {
          destination: '/dev/pts',
          type: 'devpts',
          source: 'devpts',
          options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
        },
        {
          destination: '/dev/shm',
          type: 'tmpfs',
          source: 'shm',
          options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
        },
        {
          destination: '/dev/mqueue',
          type: 'mqueue',
          source: 'mqueue',
          options: ['nosuid', 'noexec', 'nodev'],
        },
        { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
        // Like a pod's emptyDir: an empty host folder, mode 0777, bound over the image's folder.
        ...volumes.map(([destination, source]) => ({
          destination,
          type: 'bind',
          source,
          options: ['rbind', 'rw'],
        })),
      ],
      linux: {
        namespaces: ['pid', 'network', 'ipc', 'uts', 'mount'].map((type) => ({ type })),
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
