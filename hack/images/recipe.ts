// What an image recipe is, and the one recipe most images use: a Dockerfile built with buildah.
import { existsSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import { contextFiles } from './build-context.ts'
import type { Buildah } from './buildah.ts'
import type { ImageCache } from './image-cache.ts'
import type { InputHash } from './input-hash.ts'

/** BuiltImage is an image ready to import: `ctr -n k8s.io images import <archive>` names it `ref`. */
export interface BuiltImage {
  name: string
  /** `localhost/tollgate/<name>:<tag>`, the tag being the start of the input hash. */
  ref: string
  /** Path of the OCI archive. */
  archive: string
  /** Unpacked size in bytes: the sum of the uncompressed layers. */
  bytes: number
}

/** RecipeEnv is what recipes read their inputs from. */
export interface RecipeEnv {
  /** The repository's root folder. */
  root: string
  /** Where hack/build-k8s.sh puts its binaries (CoreDNS). */
  binDir: string
}

/** BuildContext is what a recipe's build gets. */
export interface BuildContext extends RecipeEnv {
  name: string
  ref: string
  /** Write the OCI archive here. */
  archive: string
  cache: ImageCache
  buildah: Buildah
  /** The images named in `needs`, built. */
  needs: Record<string, BuiltImage>
  /** Full output of the build's tools goes here. */
  logFile: string
  /** Progress lines for the person waiting. */
  log: (line: string) => void
  /** The volume that gives RUN steps the host's npm registry settings (build-home.ts). */
  buildHome: () => Promise<string>
}

/** ImageRecipe makes one image. */
export interface ImageRecipe {
  name: string
  /** Images this one is built FROM; their hashes are part of its hash. */
  needs: string[]
  /** hash adds every input that decides the image's bytes, besides `needs`. */
  hash(input: InputHash, env: RecipeEnv): void
  build(ctx: BuildContext): Promise<void>
}

/** DockerfileSpec is a Dockerfile and its context, paths relative to the repository root. */
export interface DockerfileSpec {
  name: string
  dockerfile: string
  context: string
  /** Build argument → the image of `needs` whose archive it names (`oci-archive:<path>`). */
  from: Record<string, string>
}

/**
 * ignoreFileOf picks the .dockerignore the way BuildKit does: `<Dockerfile>.dockerignore` next to
 * the Dockerfile when there is one, else the context's own. buildah is told the same file.
 */
export function ignoreFileOf(root: string, spec: DockerfileSpec): string | undefined {
  const own = resolve(root, `${spec.dockerfile}.dockerignore`)
  const context = resolve(root, spec.context, '.dockerignore')
  return existsSync(own) ? own : existsSync(context) ? context : undefined
}

/** hashDockerfile adds a Dockerfile, its ignore rules and every file of the context they let in. */
export function hashDockerfile(input: InputHash, root: string, spec: DockerfileSpec): void {
  const ignoreFile = ignoreFileOf(root, spec)
  input.file('Dockerfile', resolve(root, spec.dockerfile))
  if (ignoreFile) input.file('.dockerignore', ignoreFile)
  for (const [arg, image] of Object.entries(spec.from)) input.text('build-arg', `${arg}=<${image}>`)
  const context = resolve(root, spec.context)
  input.files(context, contextFiles(context, ignoreFile))
}

/** buildDockerfile builds a Dockerfile with buildah and writes the OCI archive. */
export async function buildDockerfile(ctx: BuildContext, spec: DockerfileSpec): Promise<void> {
  const args = Object.fromEntries(
    Object.entries(spec.from).map(([arg, image]) => {
      const built = ctx.needs[image]
      if (!built) throw new Error(`${spec.name}: ${image} is not among its needs`)
      return [arg, `oci-archive:${built.archive}`]
    }),
  )
  const ignoreFile = ignoreFileOf(ctx.root, spec)
  const options = {
    logFile: ctx.logFile,
    onLine: (line: string) => {
      if (/^(\[\d+\/\d+\] )?STEP \d+\/\d+/.test(line)) ctx.log(`${ctx.name}: ${line.slice(0, 100)}`)
    },
  }
  const context = resolve(ctx.root, spec.context)
  ctx.log(`${ctx.name}: buildah bud -f ${spec.dockerfile} ${relative(ctx.root, context) || '.'}`)
  await ctx.buildah.build(
    {
      dockerfile: resolve(ctx.root, spec.dockerfile),
      context,
      ...(ignoreFile && { ignoreFile }),
      args,
      ref: ctx.ref,
      volumes: [await ctx.buildHome()],
    },
    options,
  )
  await ctx.buildah.push(ctx.ref, ctx.archive, options)
}

/** dockerfileImage is the recipe of an image built from a Dockerfile in the repository. */
export const dockerfileImage = (spec: DockerfileSpec): ImageRecipe => ({
  name: spec.name,
  needs: [...new Set(Object.values(spec.from))],
  hash: (input, env) => hashDockerfile(input, env.root, spec),
  build: (ctx) => buildDockerfile(ctx, spec),
})
