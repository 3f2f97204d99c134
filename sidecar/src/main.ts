#!/usr/bin/env node
// tollgate-sidecar: flags and environment in, a running sidecar out, SIGTERM drains. Only wiring.
import module from 'node:module'

// Cache compiled and type-stripped modules between starts (in $NODE_COMPILE_CACHE, else the OS
// temp dir): a warm cache is most of the start time and spares loading the TypeScript stripper.
module.enableCompileCache?.()

const { parseFlags, HELP } = await import('./flags.ts')
const { isTollgateError } = await import('./errors.ts')

const fail = (error: unknown): never => {
  const message = isTollgateError(error) ? `${error.message} (${error.code})` : String(error)
  process.stderr.write(`tollgate-sidecar: ${message}\n`)
  process.exit(isTollgateError(error) && error.code === 'TOLLGATE_ERR_INVALID_FLAG' ? 2 : 1)
}

let options: ReturnType<typeof parseFlags>
try {
  options = parseFlags(process.argv.slice(2), process.env)
} catch (error) {
  fail(error)
}
if (!options) {
  process.stdout.write(`${HELP}\n`)
  process.exit(0)
}

const { startSidecar } = await import('./sidecar.ts')
const sidecar = await startSidecar(options).catch(fail)
// Persist the cache now: a sidecar usually ends by signal, and the next start should find it.
module.flushCompileCache?.()
const stop = (signal: string) => {
  sidecar.log.info({ signal }, 'stopping')
  sidecar.shutdown().then(
    () => process.exit(0),
    (err: unknown) => {
      sidecar.log.error({ err }, 'shutdown failed')
      process.exit(1)
    },
  )
}
process.once('SIGTERM', () => stop('SIGTERM'))
process.once('SIGINT', () => stop('SIGINT'))
