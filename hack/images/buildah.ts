// buildah with its own storage in the image cache: builds Dockerfiles without a container engine
// or a registry (FROM reads `oci-archive:` paths), writes OCI archives, and gives the sanity
// checks a root filesystem to run.
import { join } from 'node:path'
import { type CommandOptions, runCommand } from './command.ts'
import type { ImageConfig } from './oci-archive.ts'

/** BuildOptions describe one `buildah bud`. */
export interface BuildOptions {
  dockerfile: string
  context: string
  /** The .dockerignore to apply; buildah's default is the context's own. */
  ignoreFile?: string
  args: Record<string, string>
  ref: string
  /** host:container bind mounts visible to RUN steps only (never committed). */
  volumes?: string[]
}

/** Buildah runs buildah on one private store (overlay driver) under dir. */
export class Buildah {
  readonly #global: string[]

  constructor(dir: string) {
    this.#global = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'overlay']
  }

  #run(args: string[], options?: CommandOptions) {
    return runCommand('buildah', [...this.#global, ...args], options)
  }

  /**
   * build runs the Dockerfile. RUN steps run under runc with the host's network, as `npm ci` or
   * `apt-get` on the host would reach their registries; of the host's files they see only the
   * volumes given.
   */
  async build(build: BuildOptions, options: CommandOptions): Promise<void> {
    await this.#run(
      [
        'bud',
        '--isolation=oci',
        '--runtime=runc',
        '--cgroup-manager=cgroupfs',
        '--network=host',
        '--layers=false',
        '--force-rm', // no intermediate containers left behind by a failed build
        '--format=oci',
        '--file',
        build.dockerfile,
        ...(build.ignoreFile ? ['--ignorefile', build.ignoreFile] : []),
        ...Object.entries(build.args).flatMap(([name, value]) => ['--build-arg', `${name}=${value}`]),
        ...(build.volumes ?? []).flatMap((volume) => ['--volume', volume]),
        '--tag',
        build.ref,
        build.context,
      ],
      options,
    )
  }

  /** push writes the image as an OCI archive that names it ref. */
  async push(ref: string, archive: string, options: CommandOptions): Promise<void> {
    await this.#run(['push', '--quiet', ref, `oci-archive:${archive}:${ref}`], options)
  }

  /** forget removes an image from the store, and unnamed leftovers of multi-stage builds; missing is fine. */
  async forget(ref: string | undefined, options: CommandOptions): Promise<void> {
    if (ref) await this.#run(['rmi', ref], options).catch(() => {})
    await this.#run(['rmi', '--prune'], options).catch(() => {})
  }

  /** from makes a working container of an image (e.g. `oci-archive:/path`) and returns its name. */
  async from(image: string, name: string): Promise<string> {
    await this.#run(['rm', name]).catch(() => {})
    return (await this.#run(['from', '--quiet', '--pull=false', '--name', name, image])).trim()
  }

  /** mount mounts a working container's root filesystem and returns its path. */
  async mount(container: string): Promise<string> {
    return (await this.#run(['mount', container])).trim()
  }

  /** config is a working container's image configuration (user, environment, entrypoint). */
  async config(container: string): Promise<ImageConfig> {
    const info = JSON.parse(await this.#run(['inspect', '--type', 'container', container])) as {
      OCIv1: { config?: ImageConfig }
    }
    return info.OCIv1.config ?? {}
  }

  /** remove unmounts and deletes a working container. */
  async remove(container: string): Promise<void> {
    await this.#run(['rm', container]).catch(() => {})
  }
}
