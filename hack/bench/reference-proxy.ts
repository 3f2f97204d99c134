// The benchmark's reference: the least a proxy can do with undici. A node:http server that hands
// each request to an undici Pool of the upstream origin (a fixed 50 connections, the bench's
// load) through the dispatch API, and writes the response back chunk by chunk as it comes, minus
// hop-by-hop headers. No routing, no parsing, no accounting. reference-http-proxy.ts does the
// same on node:http alone, to check this one. Written the plain way (public undici API, ESM
// imports): the sidecar's start-up savings (see sidecar/src/node-http.ts and upstream/pools.ts)
// are part of what the benchmark compares. (It used `pool.request` and `stream.pipeline` before;
// pipeline's clean-up builds an AbortError with a stack trace on every call, a tenth of this
// process's CPU, so that reference was not the least a proxy can do.)
//   node hack/bench/reference-proxy.ts UPSTREAM_URL [PORT]
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Dispatcher, Pool } from 'undici'
import { withoutHopByHop } from './hop-by-hop.ts'

const [upstream, port = '0'] = process.argv.slice(2)
if (!upstream) {
  console.error('usage: node hack/bench/reference-proxy.ts UPSTREAM_URL [PORT]')
  process.exit(2)
}
const pool = new Pool(upstream, { connections: 50 })

/** Relay writes one upstream response to the client as it arrives, with backpressure. */
class Relay implements Dispatcher.DispatchHandler {
  readonly res: ServerResponse
  constructor(res: ServerResponse) {
    this.res = res
  }
  onRequestStart() {}
  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders) {
    this.res.writeHead(status, withoutHopByHop(headers))
  }
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer) {
    if (!this.res.write(chunk)) {
      controller.pause()
      this.res.once('drain', () => controller.resume())
    }
  }
  onResponseEnd() {
    this.res.end()
  }
  onResponseError(_c: Dispatcher.DispatchController, err: Error) {
    if (process.env.DEBUG) console.error(err)
    if (!this.res.headersSent) this.res.writeHead(502).end()
    else this.res.destroy()
  }
}

const server = createServer((req, res) => {
  pool.dispatch(
    {
      path: req.url ?? '/',
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      headers: withoutHopByHop(req.headers),
      body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
    },
    new Relay(res),
  )
})
server.listen(Number(port), '127.0.0.1', () => {
  console.log(`reference proxy listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`)
})
process.once('SIGTERM', () => process.exit(0))
