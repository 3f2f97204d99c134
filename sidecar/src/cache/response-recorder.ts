import { type CacheBody, ownCopy } from './cache-entry.ts'

/**
 * ResponseRecorder collects a response's body as it is sent to the client (a tee, never a
 * buffer in the path): every write is kept as one chunk, so a streamed answer replays with its
 * original SSE chunk boundaries. Writes are held as they are until `body`, which copies them
 * into memory the entry owns (ownCopy): what is written must not change before that. Once the
 * body passes maxBytes the recording is dropped and nothing will be stored.
 */
export class ResponseRecorder {
  #chunks: Uint8Array[] = []
  #bytes = 0
  #overflowed = false
  readonly #maxBytes: number

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes
  }

  /** write records one chunk as it went to the client. */
  write(chunk: Buffer | Uint8Array | string): void {
    if (this.#overflowed) return
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    this.#bytes += buffer.length
    if (this.#bytes > this.#maxBytes) {
      this.#overflowed = true
      this.#chunks = []
      return
    }
    this.#chunks.push(buffer)
  }

  /** overflowed is true once the body grew past maxBytes. */
  get overflowed(): boolean {
    return this.#overflowed
  }

  /**
   * body is the recording as one buffer, or for `sse` (an event stream) as its chunks; undefined
   * when it overflowed.
   */
  body(kind: CacheBody['kind']): CacheBody | undefined {
    if (this.#overflowed) return undefined
    const owned = ownCopy(this.#chunks)
    return kind === 'sse' ? { kind: 'sse', chunks: owned.parts } : { kind: 'buffer', data: owned.whole }
  }
}
