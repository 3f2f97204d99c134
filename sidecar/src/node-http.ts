import { createRequire } from 'node:module'

/**
 * node:http through require(). An ESM `import ... from 'node:http'` builds the module's namespace,
 * which runs its lazy getters (WebSocket, MessageEvent...) and so loads Node's bundled undici and
 * fetch: about 10 MB of memory and tens of milliseconds of start for nothing the sidecar uses.
 * require() returns the same module without the namespace. Remove when Node stops doing that.
 */
export const { createServer } = createRequire(import.meta.url)('node:http') as typeof import('node:http')
