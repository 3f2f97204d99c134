// The benchmark's second minimal reference, to check the first (reference-proxy.ts, undici): the
// least a proxy can do on node:http alone. Each request goes to the upstream through a keep-alive
// Agent of a fixed 50 sockets (the bench's load) and the response is piped back, minus hop-by-hop
// headers. No routing, no parsing, no accounting.
//   node hack/bench/reference-http-proxy.ts UPSTREAM_URL [PORT]
import { Agent, createServer, type IncomingHttpHeaders, request } from 'node:http'
import type { AddressInfo } from 'node:net'

const HOP = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade'])

const strip = (headers: IncomingHttpHeaders) => {
  const out: Record<string, string | string[]> = {}
  for (const name in headers) {
    const value = headers[name]
    if (!HOP.has(name) && value !== undefined) out[name] = value
  }
  return out
}

const [upstream, port = '0'] = process.argv.slice(2)
if (!upstream) {
  console.error('usage: node hack/bench/reference-http-proxy.ts UPSTREAM_URL [PORT]')
  process.exit(2)
}
const origin = new URL(upstream)
const agent = new Agent({ keepAlive: true, maxSockets: 50 })

const server = createServer((req, res) => {
  const out = request(
    {
      host: origin.hostname,
      port: origin.port,
      path: req.url ?? '/',
      method: req.method,
      headers: strip(req.headers),
      agent,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, strip(answer.headers))
      answer.pipe(res)
    },
  )
  out.on('error', (err) => {
    if (process.env.DEBUG) console.error(err)
    if (!res.headersSent) res.writeHead(502).end()
    else res.destroy()
  })
  req.pipe(out)
})
server.listen(Number(port), '127.0.0.1', () => {
  console.log(`reference proxy listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`)
})
process.once('SIGTERM', () => process.exit(0))
