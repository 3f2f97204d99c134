#!/usr/bin/env node
// tollgate-operator: parse the command line, build the clients, start. No logic lives here.
import { HELP, parseCli } from './cli.ts'
import { ERROR_CODES, hasCode } from './errors.ts'
import { createLogger } from './logger.ts'

const fail = (error: unknown) => {
  const message = hasCode(error, ERROR_CODES.INVALID_CONFIG)
    ? (error as Error).message
    : `${(error as Error).message}${(error as Error).cause ? `: ${((error as Error).cause as Error).message}` : ''}`
  process.stderr.write(`tollgate-operator: ${message}\n`)
  process.exit(hasCode(error, ERROR_CODES.INVALID_CONFIG) ? 2 : 1)
}

try {
  const config = parseCli(process.argv.slice(2), process.env)
  if (config.command === 'help') {
    process.stdout.write(HELP)
  } else {
    const logger = createLogger(config.logLevel)
    const print = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
    // Each command loads only what it needs: `migrate` runs as a Job and in the CLI, and need not
    // load the Kubernetes client and the controllers.
    if (config.command === 'migrate')
      await (await import('./commands/migrate.ts')).runMigrate(config, logger, print)
    else if (config.command === 'usage')
      await (await import('./commands/usage.ts')).runUsage(config, logger, print)
    else {
      const running = await (await import('./commands/run.ts')).runOperator(config, logger)
      let stopping = false
      const shutdown = (signal: string) => {
        if (stopping) return
        stopping = true
        logger.info({ signal }, 'shutting down')
        const force = setTimeout(() => process.exit(1), 20_000)
        force.unref()
        running.stop().then(
          () => process.exit(0),
          (error) => fail(error),
        )
      }
      process.on('SIGTERM', () => shutdown('SIGTERM'))
      process.on('SIGINT', () => shutdown('SIGINT'))
    }
  }
} catch (error) {
  fail(error)
}
