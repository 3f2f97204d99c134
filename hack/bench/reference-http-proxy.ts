// The benchmark's second minimal reference, to check the first (reference-proxy.ts, undici): the
// least a proxy can do on node:http alone. Each request goes to the upstream through a keep-alive
// Agent of a fixed 50 sockets (the bench's load) and the response is piped back, minus hop-by-hop
// headers. No routing, no parsing, no accounting.
//   node hack/bench/reference-http-proxy.ts UPSTREAM_URL [PORT]
import { Agent, createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { withoutHopByHop } from './hop-by-hop.ts'

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
      headers: withoutHopByHop(req.headers),
      agent,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, withoutHopByHop(answer.headers))
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
