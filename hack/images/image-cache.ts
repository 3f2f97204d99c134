// The image cache outside git ($TOLLGATE_IMAGE_DIR, default ~/.cache/tollgate/images): OCI
// archives named by image and input hash, a record of each, and a lock so that two builds (two
// worktrees, a test and the CLI) never write at once.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { open, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** defaultImageDir is $TOLLGATE_IMAGE_DIR, else ~/.cache/tollgate/images (next to hack/build-k8s.sh's bin/). */
export const defaultImageDir = () =>
  process.env.TOLLGATE_IMAGE_DIR ??
  join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/root', '.cache'), 'tollgate/images')

/** KEEP is how many builds of each image the cache keeps. */
const KEEP = 3

/** ImageRecord is what the cache knows about a built image. */
export interface ImageRecord {
  name: string
  ref: string
  archive: string
  /** Unpacked size: the sum of the uncompressed layers. */
  bytes: number
  /** The input hash the archive was built from. */
  hash: string
  /** Seconds the build took. */
  seconds: number
  builtAt: string
}

/** ImageCache is the folder holding the archives and their records. */
export class ImageCache {
  readonly dir: string

  constructor(dir: string) {
    this.dir = dir
    mkdirSync(dir, { recursive: true })
  }

  /** archivePath is where image `name` built from `tag` lives. */
  archivePath(name: string, tag: string): string {
    return join(this.dir, `${name}-${tag}.oci.tar`)
  }

  /** path of a scratch or state folder inside the cache (buildah storage, build contexts, logs). */
  path(...parts: string[]): string {
    return join(this.dir, ...parts)
  }

  /** record is what the cache knows of image `name` built from `tag`, if its archive is still there. */
  record(name: string, tag: string): ImageRecord | undefined {
    try {
      const record = JSON.parse(readFileSync(join(this.dir, `${name}-${tag}.json`), 'utf8')) as ImageRecord
      return existsSync(record.archive) ? record : undefined
    } catch {
      return undefined
    }
  }

  /**
   * save writes the record atomically, then forgets all but the KEEP newest builds of the image
   * (worktrees on different commits share the cache, each finding its own) and returns the refs
   * of those it deleted.
   */
  save(record: ImageRecord, tag: string): string[] {
    const file = join(this.dir, `${record.name}-${tag}.json`)
    writeFileSync(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`)
    renameSync(`${file}.tmp`, file)
    const pattern = new RegExp(`^${record.name}-[0-9a-f]+\\.json$`)
    const older = readdirSync(this.dir)
      .filter((name) => pattern.test(name))
      .map((name) => {
        try {
          return JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as ImageRecord
        } catch {
          return undefined
        }
      })
      .filter((r): r is ImageRecord => r !== undefined)
      .sort((a, b) => b.builtAt.localeCompare(a.builtAt))
      .slice(KEEP)
    for (const old of older) {
      rmSync(old.archive, { force: true })
      rmSync(old.archive.replace(/\.oci\.tar$/, '.json'), { force: true })
    }
    return older.map((old) => old.ref)
  }

  /**
   * locked runs fn holding the cache's lock. The lock is a file naming the holder's pid; a lock
   * whose holder has died is taken over.
   */
  async locked<T>(fn: () => Promise<T>, log: (line: string) => void): Promise<T> {
    const lock = join(this.dir, '.lock')
    let told = false
    for (;;) {
      try {
        const handle = await open(lock, 'wx')
        await handle.writeFile(String(process.pid))
        await handle.close()
        break
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
        const holder = Number(await readFile(lock, 'utf8').catch(() => ''))
        if (!holder || !isAlive(holder)) {
          await rm(lock, { force: true })
          continue
        }
        if (!told) log(`waiting for another image build (pid ${holder}) to finish`)
        told = true
        await sleep(1000)
      }
    }
    try {
      return await fn()
    } finally {
      rmSync(lock, { force: true })
    }
  }
}

/** isAlive is true while a process exists and is not a zombie. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  // This machine's init reaps orphans late: a zombie still answers kill(0).
  const stat = tryRead(`/proc/${pid}/stat`)
  return stat.split(') ')[1]?.startsWith('Z') !== true
}

const tryRead = (path: string) => {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}
