import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import { RequestContext } from './context.ts'
import { createServer, type ListenAddress, listen } from './node-http.ts'
import type { Handler } from './stage.ts'

/**
 * ProxyServer is the HTTP server apps call. It turns each request into a RequestContext, runs the
 * chain, notices clients that go away (and aborts their upstream call), and counts calls in flight
 * so SIGTERM can drain them.
 */
export class ProxyServer {
  readonly #server: Server
  readonly #handler: Handler
  readonly #log: Logger
  #inflight = 0
  #idle: (() => void) | undefined = undefined

  constructor(handler: Handler, log: Logger) {
    this.#handler = handler
    this.#log = log
    this.#server = createServer({ keepAliveTimeout: 65_000, noDelay: true }, (req, res) =>
      this.#serve(req, res),
    )
  }

  get inflight(): number {
    return this.#inflight
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    const ctx = new RequestContext(req, res, performance.now())
    this.#inflight++
    res.once('close', () => {
      if (!res.writableFinished) ctx.abort()
    })
    this.#handler(ctx).then(this.#done, (err: unknown) => {
      this.#done()
      this.#log.error({ err, requestId: ctx.requestId }, 'unhandled error in the request chain')
      if (!res.headersSent) res.writeHead(500, ctx.extraHeaders).end()
      else res.destroy()
    })
  }

  #done = (): void => {
    if (--this.#inflight === 0) this.#idle?.()
  }

  listen(address: ListenAddress): Promise<AddressInfo> {
    return listen(this.#server, address)
  }

  /**
   * drain stops accepting connections, closes idle keep-alive ones, and waits for the calls in
   * flight (streams included) up to the deadline; then it cuts what is left (their upstream calls
   * are aborted and their usage recorded) and resolves with how many were cut.
   */
  async drain(deadlineMs: number): Promise<number> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    this.#server.closeIdleConnections()
    if (this.#inflight > 0) {
      const idle = new Promise<void>((resolve) => {
        this.#idle = resolve
      })
      let timer: NodeJS.Timeout | undefined
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, deadlineMs)
      })
      await Promise.race([idle, deadline])
      clearTimeout(timer)
    }
    const cut = this.#inflight
    if (cut > 0) {
      this.#server.closeAllConnections()
      await new Promise<void>((resolve) => {
        this.#idle = resolve
        if (this.#inflight === 0) resolve()
      })
    }
    this.#server.closeAllConnections()
    await closed
    return cut
  }
}
