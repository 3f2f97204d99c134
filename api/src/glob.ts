/** Globs as model lists use them: `*` any run of characters, `?` one character, nothing else. */
const cache = new Map<string, RegExp>()

/** globMatch reports whether text matches a glob. */
export function globMatch(glob: string, text: string): boolean {
  let re = cache.get(glob)
  if (!re) {
    const body = glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')
    re = new RegExp(`^${body}$`)
    cache.set(glob, re)
  }
  return re.test(text)
}

/** matchesAny is true when the list is empty or any glob matches: an empty list means all. */
export const matchesAny = (globs: readonly string[], text: string) =>
  globs.length === 0 || globs.some((g) => globMatch(g, text))

/** specificity orders globs: more literal characters first, so `gpt-4o-mini*` beats `gpt-4o*`. */
export const specificity = (glob: string) =>
  glob.replace(/[*?]/g, '').length * 2 + (/[*?]/.test(glob) ? 0 : 1)

/** mostSpecific returns the entry whose glob matches text most specifically. */
export function mostSpecific<T>(
  entries: readonly T[],
  globOf: (entry: T) => string,
  text: string,
): T | undefined {
  let best: T | undefined
  let bestScore = -1
  for (const entry of entries) {
    const glob = globOf(entry)
    if (!globMatch(glob, text)) continue
    const score = specificity(glob)
    if (score > bestScore) {
      best = entry
      bestScore = score
    }
  }
  return best
}
