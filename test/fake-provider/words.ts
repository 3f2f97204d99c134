// Deterministic text for the fake provider: the same prompt always gets the same words, and token
// counts follow one simple, documented rule so tests can compute what to expect.

/** VOCABULARY is the pool completion words are drawn from; one word is one output token. */
export const VOCABULARY = [
  'amber',
  'basil',
  'cedar',
  'delta',
  'ember',
  'fjord',
  'grove',
  'harbor',
  'island',
  'juniper',
  'kelp',
  'lagoon',
  'meadow',
  'nectar',
  'orchid',
  'pebble',
  'quartz',
  'river',
  'sable',
  'tundra',
  'umber',
  'valley',
  'willow',
  'xenon',
  'yarrow',
  'zephyr',
  'birch',
  'coral',
  'dune',
  'fern',
  'glacier',
  'heath',
] as const

/** DEFAULT_OUTPUT_WORDS is how many words a completion has when nothing asks for another count. */
export const DEFAULT_OUTPUT_WORDS = 12

/** hashText is 32-bit FNV-1a over the UTF-16 code units of text. */
export const hashText = (text: string): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/** random returns a mulberry32 generator of floats in [0, 1) seeded by seed. */
const random = (seed: number) => {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** completionWords returns `count` words drawn from VOCABULARY, determined by seedText alone. */
export const completionWords = (seedText: string, count: number): string[] => {
  const next = random(hashText(seedText))
  return Array.from({ length: count }, () => VOCABULARY[Math.floor(next() * VOCABULARY.length)] ?? 'amber')
}

/** completionText is the whole completion the fake answers when seedText is the last user message. */
export const completionText = (seedText: string, count: number = DEFAULT_OUTPUT_WORDS): string =>
  completionWords(seedText, count).join(' ')

/** streamPieces splits words into one stream piece per word whose concatenation is the full text. */
export const streamPieces = (words: readonly string[]): string[] =>
  words.map((word, i) => (i === 0 ? word : ` ${word}`))

/** estimateTokens is ceil(total characters / 4) over texts, the fake's input token count. */
export const estimateTokens = (texts: readonly string[]): number =>
  Math.ceil(texts.reduce((sum, text) => sum + text.length, 0) / 4)

/**
 * collectText gathers the prompt text of any request fragment: strings, arrays, and objects'
 * `text` and `content` fields (chat messages, Anthropic blocks, Responses input items).
 */
export const collectText = (value: unknown): string[] => {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.flatMap(collectText)
  if (value === null || typeof value !== 'object') return []
  const { text, content } = value as { text?: unknown; content?: unknown }
  return [...(typeof text === 'string' ? [text] : []), ...collectText(content)]
}

/** lastUserText is the text of the last `role: user` message in messages, or '' when there is none. */
export const lastUserText = (messages: unknown): string => {
  if (!Array.isArray(messages)) return ''
  const last = messages.findLast((m: unknown) => (m as { role?: unknown } | null)?.role === 'user')
  return collectText((last as { content?: unknown } | undefined)?.content).join('\n')
}

/** embeddingVector is a unit vector of `dimensions` floats determined by input alone. */
export const embeddingVector = (input: string, dimensions: number): Float32Array => {
  const next = random(hashText(input))
  const vector = Float32Array.from({ length: dimensions }, () => next() * 2 - 1)
  const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0)) || 1
  return vector.map((x) => x / norm)
}
