// Which files of a build context a Dockerfile can see: the .dockerignore rules as Docker and
// buildah apply them (moby/patternmatcher), so the image's input hash covers exactly those files.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

interface Pattern {
  text: string
  exclusion: boolean
  regexp: RegExp
}

/** compile turns one .dockerignore pattern into a regular expression, as patternmatcher does. */
function compile(pattern: string): RegExp {
  let out = '^'
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        i++
        if (pattern[i + 1] === '/') i++ // `**/` is `**`
        out += i + 1 >= pattern.length ? '.*' : '(.*/)?'
      } else {
        out += '[^/]*'
      }
    } else if (ch === '?') {
      out += '[^/]'
    } else if (ch === '\\' && i + 1 < pattern.length) {
      out += `\\${pattern[++i]}`
    } else if ('.+()|{}$^'.includes(ch)) {
      out += `\\${ch}`
    } else {
      out += ch
    }
  }
  return new RegExp(`${out}$`)
}

/** clean normalises a pattern like Go's filepath.Clean: no `./`, no leading or trailing `/`. */
const clean = (path: string) =>
  path
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .join('/')

/** parseIgnoreFile reads .dockerignore rules; a missing file ignores nothing. */
export function parseIgnoreFile(path: string | undefined): Pattern[] {
  if (!path || !existsSync(path)) return []
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const exclusion = line.startsWith('!')
      const text = clean(exclusion ? line.slice(1).trim() : line)
      return { text, exclusion, regexp: compile(text) }
    })
}

/**
 * isIgnored applies the rules in order, the last match winning; a pattern that matches a parent
 * directory matches everything below it.
 */
export function isIgnored(patterns: Pattern[], path: string): boolean {
  const parents = path.split('/').slice(0, -1)
  let ignored = false
  for (const pattern of patterns) {
    // An exception only matters for a path already ignored, a rule only for one not yet ignored.
    if (pattern.exclusion !== ignored) continue
    let match = pattern.regexp.test(path)
    for (let i = 1; !match && i <= parents.length; i++)
      match = pattern.regexp.test(parents.slice(0, i).join('/'))
    if (match) ignored = !pattern.exclusion
  }
  return ignored
}

/**
 * contextFiles lists the files (relative paths, sorted) of the build context in dir that the
 * ignore file lets through. Like Docker, it does not descend into an ignored directory unless an
 * exception pattern starts with that directory's path.
 */
export function contextFiles(dir: string, ignoreFile?: string): string[] {
  const patterns = parseIgnoreFile(ignoreFile)
  const exceptions = patterns.filter((p) => p.exclusion).map((p) => `${p.text}/`)
  const files: string[] = []
  const walk = (relative: string) => {
    for (const entry of readdirSync(join(dir, relative), { withFileTypes: true })) {
      const path = relative ? `${relative}/${entry.name}` : entry.name
      const ignored = isIgnored(patterns, path)
      if (entry.isDirectory()) {
        if (!ignored || exceptions.some((e) => e.startsWith(`${path}/`))) walk(path)
      } else if (!ignored && (entry.isFile() || entry.isSymbolicLink())) {
        files.push(path)
      }
    }
  }
  walk('')
  return files.sort()
}
