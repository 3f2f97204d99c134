// The input hash of an image: everything that decides its bytes (recipe, Dockerfile, build
// arguments, the files it copies, the images it builds on). Same hash, same image: it is reused.
import { createHash, type Hash } from 'node:crypto'
import { existsSync, lstatSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** Files bigger than this are hashed once and remembered by their identity (device, inode, size, mtime). */
const REMEMBER_ABOVE = 1 << 20

/**
 * FileDigests remembers the digests of big files (the Node binary, CoreDNS) between runs, so a
 * warm check costs a stat, not a read of 100 MB. It is stored as JSON in the image cache.
 */
export class FileDigests {
  readonly #path: string
  #known: Record<string, { id: string; digest: string }>
  #changed = false

  constructor(path: string) {
    this.#path = path
    try {
      this.#known = JSON.parse(readFileSync(path, 'utf8'))
    } catch {
      this.#known = {}
    }
  }

  /** digest is the sha256 of a file's bytes. */
  digest(path: string): string {
    const st = lstatSync(path)
    if (st.size <= REMEMBER_ABOVE) return createHash('sha256').update(readFileSync(path)).digest('hex')
    const id = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`
    const known = this.#known[path]
    if (known?.id === id) return known.digest
    const digest = createHash('sha256').update(readFileSync(path)).digest('hex')
    this.#known[path] = { id, digest }
    this.#changed = true
    return digest
  }

  /** save writes what was learnt, if anything. */
  save(): void {
    if (this.#changed) writeFileSync(this.#path, JSON.stringify(this.#known))
    this.#changed = false
  }
}

/** InputHash accumulates an image's inputs, each under a label so that no two inputs run together. */
export class InputHash {
  readonly #hash: Hash = createHash('sha256')
  readonly #digests: FileDigests

  constructor(digests: FileDigests) {
    this.#digests = digests
  }

  /** text adds a value (a recipe version, a build argument, a dependency's hash). */
  text(label: string, value: string): this {
    this.#hash.update(`${label}\0${value.length}\0${value}\0`)
    return this
  }

  /** file adds one file's content and whether it is executable (COPY keeps the mode). */
  file(label: string, path: string): this {
    if (!existsSync(path)) throw new Error(`image input ${path} does not exist`)
    const st = lstatSync(path)
    const content = st.isSymbolicLink() ? `link:${readlinkSync(path)}` : this.#digests.digest(path)
    return this.text(label, `${st.mode & 0o111 ? 'x' : '-'}${content}`)
  }

  /** files adds files named relative to dir, in the order given. */
  files(dir: string, names: string[]): this {
    for (const name of names) this.file(name, join(dir, name))
    return this
  }

  /** digest is the hex sha256 of everything added. */
  digest(): string {
    return this.#hash.digest('hex')
  }
}
