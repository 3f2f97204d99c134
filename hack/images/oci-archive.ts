// OCI image archives (an OCI image layout in a tar, what `ctr images import` and buildah's
// `oci-archive:` transport read): packing a single-layer image without any image tool, and reading
// an archive's manifest, config and unpacked size.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { Transform, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { promisify } from 'node:util'
import { createGunzip, createGzip } from 'node:zlib'

const run = promisify(execFile)

/** ImageConfig is the `config` object of an OCI image configuration (the fields used here). */
export interface ImageConfig {
  Entrypoint?: string[]
  Cmd?: string[]
  Env?: string[]
  User?: string
  WorkingDir?: string
  ExposedPorts?: Record<string, Record<string, never>>
  Labels?: Record<string, string>
}

const EPOCH = '1970-01-01T00:00:00Z'
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const INDEX = 'application/vnd.oci.image.index.v1+json'
const CONFIG = 'application/vnd.oci.image.config.v1+json'
const LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip'

/** sha256 passes bytes through and keeps their digest and count. */
class Sha256 extends Transform {
  readonly #hash = createHash('sha256')
  bytes = 0
  override _transform(chunk: Buffer, _encoding: string, done: () => void) {
    this.#hash.update(chunk)
    this.bytes += chunk.length
    this.push(chunk)
    done()
  }
  get digest(): string {
    return `sha256:${this.#hash.copy().digest('hex')}`
  }
}

/**
 * tarDirectory writes dir's contents as a reproducible tar (sorted, mtime 0, owned by root), the
 * way a layer of a from-scratch image should look.
 */
export async function tarDirectory(dir: string, out: string): Promise<void> {
  await run('tar', [
    '--format=gnu',
    '--sort=name',
    '--mtime=@0',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '-C',
    dir,
    '-cf',
    out,
    '.',
  ])
}

/**
 * packImage makes a single-layer OCI archive at `out` from an uncompressed layer tar: the layer is
 * gzipped into a blob, the config (with `config`) and manifest are written as blobs, and the index
 * names the image `ref` for containerd (`io.containerd.image.name`) and for OCI tools
 * (`org.opencontainers.image.ref.name`). The same inputs give the same bytes.
 */
export async function packImage(options: {
  layer: string
  ref: string
  out: string
  config: ImageConfig
  createdBy: string
}): Promise<void> {
  const work = await mkdtemp(join(dirname(options.out), '.pack-'))
  try {
    const blobs = join(work, 'blobs', 'sha256')
    await mkdir(blobs, { recursive: true })
    const plain = new Sha256()
    const packed = new Sha256()
    const layerFile = join(work, 'layer.tar.gz')
    await pipeline(
      createReadStream(options.layer),
      plain,
      createGzip({ level: 6 }),
      packed,
      createWriteStream(layerFile),
    )
    await rename(layerFile, join(blobs, hex(packed.digest)))
    const blob = async (value: unknown) => {
      const bytes = Buffer.from(JSON.stringify(value))
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
      await writeFile(join(blobs, hex(digest)), bytes)
      return { digest, size: bytes.length }
    }
    const config = await blob({
      architecture: 'amd64',
      os: 'linux',
      created: EPOCH,
      config: options.config,
      rootfs: { type: 'layers', diff_ids: [plain.digest] },
      history: [{ created: EPOCH, created_by: options.createdBy }],
    })
    const manifest = await blob({
      schemaVersion: 2,
      mediaType: MANIFEST,
      config: { mediaType: CONFIG, ...config },
      layers: [{ mediaType: LAYER_GZIP, digest: packed.digest, size: packed.bytes }],
    })
    const tag = options.ref.slice(options.ref.lastIndexOf(':') + 1)
    await writeFile(
      join(work, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        mediaType: INDEX,
        manifests: [
          {
            mediaType: MANIFEST,
            ...manifest,
            platform: { architecture: 'amd64', os: 'linux' },
            annotations: {
              'io.containerd.image.name': options.ref,
              'org.opencontainers.image.ref.name': tag,
            },
          },
        ],
      }),
    )
    await writeFile(join(work, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
    const tmp = `${options.out}.tmp`
    await run('tar', [
      '--sort=name',
      '--mtime=@0',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '-C',
      work,
      '-cf',
      tmp,
      'oci-layout',
      'index.json',
      'blobs',
    ])
    await rename(tmp, options.out)
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

const hex = (digest: string) => digest.slice('sha256:'.length)

/** TarEntry is where one file's bytes sit inside a tar. */
interface TarEntry {
  offset: number
  size: number
}

/** readTarIndex lists the regular files of a tar with the offset and size of their bytes. */
async function readTarIndex(path: string): Promise<Map<string, TarEntry>> {
  const file = await open(path, 'r')
  const entries = new Map<string, TarEntry>()
  try {
    const header = Buffer.alloc(512)
    let offset = 0
    let longName: string | undefined
    for (;;) {
      const { bytesRead } = await file.read(header, 0, 512, offset)
      if (bytesRead < 512 || header.every((b) => b === 0)) break
      const field = (start: number, length: number) =>
        header.toString('utf8', start, start + length).replace(/\0.*$/s, '')
      const size = parseInt(field(124, 12).trim() || '0', 8)
      const type = String.fromCharCode(header[156] ?? 0)
      const data = offset + 512
      const prefix = field(345, 155)
      let name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100))
      longName = undefined
      if (type === 'L' || type === 'x') {
        // GNU long name, or a PAX header whose `path` record replaces the next entry's name.
        const body = Buffer.alloc(size)
        await file.read(body, 0, size, data)
        const text = body.toString('utf8')
        longName = type === 'L' ? text.replace(/\0.*$/s, '') : /(?:^|\n)\d+ path=([^\n]*)\n/.exec(text)?.[1]
      } else if (type === '0' || type === '\0') {
        name = name.replace(/^\.\//, '')
        entries.set(name, { offset: data, size })
      }
      offset = data + Math.ceil(size / 512) * 512
    }
  } finally {
    await file.close()
  }
  return entries
}

/** ArchiveImage is what an OCI archive says about its (single) image. */
export interface ArchiveImage {
  /** ref as the index names it for containerd, when it does. */
  ref: string | undefined
  manifestDigest: string
  config: { config?: ImageConfig; rootfs?: { diff_ids: string[] } }
  layers: { mediaType: string; digest: string; size: number }[]
}

/** OciArchive reads an OCI archive without unpacking it. */
export class OciArchive {
  readonly path: string
  readonly #entries: Map<string, TarEntry>

  private constructor(path: string, entries: Map<string, TarEntry>) {
    this.path = path
    this.#entries = entries
  }

  /** open indexes the archive's files. */
  static async open(path: string): Promise<OciArchive> {
    return new OciArchive(path, await readTarIndex(path))
  }

  #entry(name: string): TarEntry {
    const entry = this.#entries.get(name)
    if (!entry) throw new Error(`${this.path}: no ${name} in the archive`)
    return entry
  }

  async #json<T>(name: string): Promise<T> {
    const { offset, size } = this.#entry(name)
    const file = await open(this.path, 'r')
    try {
      const body = Buffer.alloc(size)
      await file.read(body, 0, size, offset)
      return JSON.parse(body.toString('utf8')) as T
    } finally {
      await file.close()
    }
  }

  /** image reads the index, the manifest and the config of the archive's one image. */
  async image(): Promise<ArchiveImage> {
    type Descriptor = {
      mediaType: string
      digest: string
      size: number
      annotations?: Record<string, string>
    }
    const index = await this.#json<{ manifests: Descriptor[] }>('index.json')
    const [top] = index.manifests
    if (!top || index.manifests.length !== 1)
      throw new Error(`${this.path}: expected one image, found ${index.manifests.length}`)
    const manifest = await this.#json<{ config: Descriptor; layers: Descriptor[] }>(blobPath(top.digest))
    return {
      ref:
        top.annotations?.['io.containerd.image.name'] ??
        top.annotations?.['org.opencontainers.image.ref.name'],
      manifestDigest: top.digest,
      config: await this.#json(blobPath(manifest.config.digest)),
      layers: manifest.layers,
    }
  }

  /**
   * unpackedSize is the sum of the image's uncompressed layers: the bytes a node unpacks, and
   * the size `docker images` shows. Files a later layer deletes still count in the layer that
   * added them.
   */
  async unpackedSize(): Promise<number> {
    let total = 0
    for (const layer of (await this.image()).layers) {
      const { offset, size } = this.#entry(blobPath(layer.digest))
      if (layer.mediaType.endsWith('.tar')) {
        total += size
        continue
      }
      if (!layer.mediaType.endsWith('+gzip'))
        throw new Error(`${this.path}: cannot measure ${layer.mediaType}`)
      let bytes = 0
      const count = new Writable({
        write(chunk: Buffer, _encoding, done) {
          bytes += chunk.length
          done()
        },
      })
      await pipeline(
        createReadStream(this.path, { start: offset, end: offset + size - 1 }),
        createGunzip(),
        count,
      )
      total += bytes
    }
    return total
  }
}

const blobPath = (digest: string) => `blobs/sha256/${hex(digest)}`
