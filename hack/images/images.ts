// ensureImages: every container image the project needs, built for real (buildah, mmdebstrap,
// gcc) into OCI archives outside git, and rebuilt only when its inputs change.
import { mkdirSync, writeFileSync } from 'node:fs'
import { defaultBinDir } from '../stack/stack.ts'
import { prepareBuildHome } from './build-home.ts'
import { Buildah } from './buildah.ts'
import { IMAGES } from './catalogue.ts'
import { defaultImageDir, ImageCache, type ImageRecord } from './image-cache.ts'
import { FileDigests, InputHash } from './input-hash.ts'
import { OciArchive } from './oci-archive.ts'
import type { BuiltImage, ImageRecipe, RecipeEnv } from './recipe.ts'

export type { BuiltImage } from './recipe.ts'

/**
 * RECIPE_VERSION is part of every image's hash. Bump it when a change to hack/images changes the
 * bytes of images whose own inputs did not change (a buildah flag, the packing of layers).
 */
const RECIPE_VERSION = '1'

/** EnsureImagesOptions select images and say where the inputs that live outside git are. */
export interface EnsureImagesOptions {
  /** Names of the images wanted (default: all); the images they are built FROM come too. */
  only?: string[]
  /** Where hack/build-k8s.sh put CoreDNS; default ~/.cache/tollgate/bin ($TOLLGATE_BIN_DIR). */
  binDir?: string
  /** Progress lines (default: none). */
  log?: (line: string) => void
}

/** ImageOutcome is one image and what it cost this time. */
export interface ImageOutcome {
  image: BuiltImage
  /** false when the cached archive was reused. */
  built: boolean
  /** Seconds the build took; 0 when reused. */
  seconds: number
}

/** IMAGE_NAMES are the names ensureImages knows, in build order. */
export const IMAGE_NAMES = IMAGES.map((recipe) => recipe.name)

const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '')

/** select lists the recipes for the names asked for and everything they build on, in build order. */
function select(only: string[] | undefined): ImageRecipe[] {
  const byName = new Map(IMAGES.map((recipe) => [recipe.name, recipe]))
  const wanted = new Set<string>()
  const add = (name: string) => {
    const recipe = byName.get(name)
    if (!recipe) throw new Error(`unknown image ${name}; known: ${IMAGE_NAMES.join(', ')}`)
    if (wanted.has(name)) return
    wanted.add(name)
    for (const need of recipe.needs) add(need)
  }
  for (const name of only ?? IMAGE_NAMES) add(name)
  return IMAGES.filter((recipe) => wanted.has(recipe.name))
}

const builtImage = (record: ImageRecord): BuiltImage => ({
  name: record.name,
  ref: record.ref,
  archive: record.archive,
  bytes: record.bytes,
})

/**
 * buildImages makes sure every selected image's archive matches its inputs, building those that
 * do not (one build at a time across processes), and says what each cost.
 */
export async function buildImages(options: EnsureImagesOptions = {}): Promise<ImageOutcome[]> {
  const log = options.log ?? (() => {})
  const env: RecipeEnv = { root, binDir: options.binDir ?? defaultBinDir() }
  const cache = new ImageCache(defaultImageDir())
  const digests = new FileDigests(cache.path('file-digests.json'))
  const recipes = select(options.only)

  const hashes = new Map<string, string>()
  for (const recipe of recipes) {
    const input = new InputHash(digests).text('recipe', `${RECIPE_VERSION}:${recipe.name}`)
    for (const need of recipe.needs) input.text(`needs ${need}`, hashes.get(need) as string)
    recipe.hash(input, env)
    hashes.set(recipe.name, input.digest())
  }
  digests.save()

  const outcomes = new Map<string, ImageOutcome>()
  const tagOf = (recipe: ImageRecipe) => (hashes.get(recipe.name) as string).slice(0, 12)
  const reuse = (recipe: ImageRecipe) => {
    const record = cache.record(recipe.name, tagOf(recipe))
    if (record?.hash !== hashes.get(recipe.name)) return false
    outcomes.set(recipe.name, { image: builtImage(record as ImageRecord), built: false, seconds: 0 })
    return true
  }
  const stale = recipes.filter((recipe) => !reuse(recipe))
  if (stale.length > 0) {
    await cache.locked(async () => {
      const buildah = new Buildah(cache.path('buildah'))
      let home: Promise<string> | undefined
      const buildHome = () => {
        home ??= prepareBuildHome(cache.path('build-home'))
        return home
      }
      mkdirSync(cache.path('logs'), { recursive: true })
      for (const recipe of stale) {
        if (reuse(recipe)) continue // built by another process while this one waited for the lock
        const hash = hashes.get(recipe.name) as string
        const tag = tagOf(recipe)
        const ref = `localhost/tollgate/${recipe.name}:${tag}`
        const archive = cache.archivePath(recipe.name, tag)
        const logFile = cache.path('logs', `${recipe.name}.log`)
        writeFileSync(logFile, '')
        const needs = Object.fromEntries(
          recipe.needs.map((need) => [need, (outcomes.get(need) as ImageOutcome).image]),
        )
        log(`${recipe.name}: building ${ref}`)
        const started = performance.now()
        try {
          await recipe.build({
            ...env,
            name: recipe.name,
            ref,
            archive,
            cache,
            buildah,
            needs,
            logFile,
            log,
            buildHome,
          })
        } catch (cause) {
          throw new Error(`build image ${recipe.name}`, { cause })
        }
        const seconds = (performance.now() - started) / 1000
        const bytes = await (await OciArchive.open(archive)).unpackedSize()
        const record: ImageRecord = {
          name: recipe.name,
          ref,
          archive,
          bytes,
          hash,
          seconds: Math.round(seconds * 10) / 10,
          builtAt: new Date().toISOString(),
        }
        for (const old of cache.save(record, tag)) await buildah.forget(old, { logFile })
        outcomes.set(recipe.name, { image: builtImage(record), built: true, seconds })
      }
    }, log)
  }
  return recipes.map((recipe) => outcomes.get(recipe.name) as ImageOutcome)
}

/**
 * ensureImages returns every selected image (and those it is built FROM) by name, building what
 * is missing or out of date. A call with nothing changed only hashes inputs (well under a second).
 *
 * ```ts
 * const images = await ensureImages({ only: ['operator', 'sidecar'], log: console.error })
 * // images.operator.archive → `ctr -n k8s.io images import` it; images.operator.ref → the pod's image
 * ```
 */
export async function ensureImages(options: EnsureImagesOptions = {}): Promise<Record<string, BuiltImage>> {
  const outcomes = await buildImages(options)
  return Object.fromEntries(outcomes.map(({ image }) => [image.name, image]))
}
