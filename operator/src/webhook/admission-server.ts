import { once } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { type AdmissionDeps, admitPod } from './admission-handler.ts'
import { type AdmissionReview, isAdmissionReview } from './admission-review.ts'

/** INJECT_PATH is the URL path the MutatingWebhookConfiguration calls. */
export const INJECT_PATH = '/inject'

/** The API server caps request bodies at 3 MiB; anything larger is not an AdmissionReview. */
const MAX_BODY = 4 * 1024 * 1024

/** KeyPair is a PEM certificate chain and its private key. */
export interface KeyPair {
  cert: string
  key: string
}

/** PostRoute answers a POST to one more path of the server (the credential exchange). */
export type PostRoute = (req: IncomingMessage, res: ServerResponse) => Promise<void>

/**
 * AdmissionServer serves AdmissionReview v1 over HTTPS, and the POST routes it is given on the
 * same port and certificate (sidecars exchange their token at `/exchange`). Its certificate can be
 * replaced while it runs (renewal), without dropping connections. `/healthz` answers 200 once a
 * certificate is set.
 */
export class AdmissionServer {
  readonly #deps: AdmissionDeps
  readonly #server: Server
  readonly #routes: Record<string, PostRoute>
  #hasCert = false

  constructor(deps: AdmissionDeps, pair?: KeyPair, routes: Record<string, PostRoute> = {}) {
    this.#deps = deps
    this.#routes = routes
    this.#server = createServer({ ...pair, minVersion: 'TLSv1.2' }, (req, res) => {
      this.#handle(req, res).catch((err) => {
        deps.logger.error({ err }, 'admission request failed')
        if (!res.headersSent) res.writeHead(500)
        res.end()
      })
    })
    this.#hasCert = pair !== undefined
  }

  /** setCertificate swaps the serving certificate; new connections use it at once. */
  setCertificate(pair: KeyPair) {
    this.#server.setSecureContext({ cert: pair.cert, key: pair.key })
    this.#hasCert = true
  }

  /** listen binds host:port (port 0 picks a free one) and resolves with the bound address. */
  async listen(port: number, host: string): Promise<AddressInfo> {
    this.#server.listen(port, host)
    await once(this.#server, 'listening')
    return this.#server.address() as AddressInfo
  }

  /** close stops accepting connections and ends idle ones. */
  async close() {
    const closed = once(this.#server, 'close')
    this.#server.close()
    this.#server.closeAllConnections()
    await closed
  }

  async #handle(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? '/', 'https://webhook').pathname
    if (req.method === 'GET' && path === '/healthz') {
      res
        .writeHead(this.#hasCert ? 200 : 503, { 'content-type': 'text/plain' })
        .end(this.#hasCert ? 'ok' : 'no certificate')
      return
    }
    const route = req.method === 'POST' ? this.#routes[path] : undefined
    if (route) return route(req, res)
    if (req.method !== 'POST' || path !== INJECT_PATH) {
      res.writeHead(404).end()
      return
    }
    const body = await readBody(req)
    if (body === undefined) {
      res.writeHead(413).end()
      return
    }
    let review: unknown
    try {
      review = JSON.parse(body)
    } catch {
      review = undefined
    }
    if (!isAdmissionReview(review)) {
      res
        .writeHead(400, { 'content-type': 'text/plain' })
        .end('expected an admission.k8s.io/v1 AdmissionReview')
      return
    }
    const response = await admitPod(review.request, this.#deps)
    const answer: AdmissionReview = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer))
  }
}

/** readBody reads a request body of at most MAX_BODY bytes; undefined when it is larger. */
export async function readBody(req: IncomingMessage, max = MAX_BODY): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > max) return undefined
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}
