// The benchmark's reference: the least a proxy can do with undici. A node:http server that hands
// each request to an undici Pool of the upstream origin (a fixed 50 connections, the bench's
// load) and pipes the response back, minus hop-by-hop headers. No routing, no parsing, no
// accounting. reference-http-proxy.ts does the same on node:http alone, to check this one. Written the plain way (public undici
// API, ESM imports): the sidecar's start-up savings (see sidecar/src/node-http.ts and
// upstream/pools.ts) are part of what the benchmark compares.
//   node hack/bench/reference-proxy.ts UPSTREAM_URL [PORT]
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pipeline } from 'node:stream/promises'
import { Pool } from 'undici'

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
  console.error('usage: node hack/bench/reference-proxy.ts UPSTREAM_URL [PORT]')
  process.exit(2)
}
const pool = new Pool(upstream, { connections: 50 })

const server = createServer(async (req, res) => {
  try {
    const { statusCode, headers, body } = await pool.request({
      path: req.url ?? '/',
      method: (req.method ?? 'GET') as 'GET',
      headers: strip(req.headers),
      body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
    })
    res.writeHead(statusCode, strip(headers))
    await pipeline(body, res)
  } catch (err) {
    if (process.env.DEBUG) console.error(err)
    if (!res.headersSent) res.writeHead(502).end()
    else res.destroy()
  }
})
server.listen(Number(port), '127.0.0.1', () => {
  console.log(`reference proxy listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`)
})
process.once('SIGTERM', () => process.exit(0))
