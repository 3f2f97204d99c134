import { once } from 'node:events'
import { setImmediate, setTimeout } from 'node:timers/promises'
import { type Exchange, untilAborted } from './exchange.ts'

/** sseData frames an OpenAI chat/completions event: `data: {...}\n\n`. */
export const sseData = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`

/** SSE_DONE is the last frame of an OpenAI chat/completions stream. */
export const SSE_DONE = 'data: [DONE]\n\n'

/** sseEvent frames a named event (Anthropic, OpenAI Responses): `event: name\ndata: {...}\n\n`. */
export const sseEvent = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`

/**
 * EventStream writes one server-sent-event response and applies the stream behaviour: the chunk
 * delay before every event after the first, and the stall or cut once N words went out. A stall
 * or cut beyond the last word happens in `wordsDone()`, before the closing events, so the client
 * never sees the end of the stream. Every method throws once the exchange is aborted; the server
 * treats that as the end of the exchange.
 */
export class EventStream {
  #ex: Exchange
  #events = 0
  #words = 0

  constructor(ex: Exchange) {
    this.#ex = ex
    ex.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' })
    ex.res.flushHeaders()
  }

  /** event writes one event that is not a word (the opening and closing events). */
  async event(frame: string): Promise<void> {
    const { signal, behaviour, res } = this.#ex
    if (behaviour.chunkDelayMs && this.#events > 0)
      await setTimeout(behaviour.chunkDelayMs, undefined, { signal })
    signal.throwIfAborted()
    this.#events++
    if (!res.write(frame)) await once(res, 'drain', { signal })
  }

  /** word writes the event that carries one word, unless the stall or cut point has come. */
  async word(frame: string): Promise<void> {
    await this.#checkpoint()
    await this.event(frame)
    this.#words++
  }

  /** wordsDone marks the end of the words: a stall or cut point past the last word applies here. */
  async wordsDone(): Promise<void> {
    await this.#checkpoint()
  }

  /** end finishes the response. */
  end(): void {
    this.#ex.res.end()
  }

  async #checkpoint() {
    const { signal, behaviour } = this.#ex
    const reached = (limit: number | undefined) => limit !== undefined && this.#words >= limit
    if (reached(behaviour.cutAfter)) await this.#cut()
    else if (reached(behaviour.stallAfter)) await untilAborted(signal)
    signal.throwIfAborted()
  }

  /** #cut lets the words already written reach the client, then destroys the socket. */
  async #cut() {
    const { signal, res } = this.#ex
    // res.write corks the socket until the next tick; destroying earlier would drop those words.
    do await setImmediate(undefined, { signal })
    while ((res.socket?.writableLength ?? 0) > 0)
    this.#ex.cut()
  }
}
