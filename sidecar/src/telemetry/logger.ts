import { type DestinationStream, type Logger, pino } from 'pino'
import { AccessLog } from './access-log.ts'

/** Paths pino replaces with `[redacted]` wherever they appear in a log object. */
export const REDACT_PATHS = [
  'authorization',
  'x-api-key',
  'apiKey',
  'key',
  'headers.authorization',
  'headers["x-api-key"]',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  '*.authorization',
  '*["x-api-key"]',
  '*.apiKey',
]

/** Loggers are the sidecar's two pino loggers on one output. */
export interface Loggers {
  /** log is for events, with redaction of credential-shaped fields. */
  log: Logger
  /** access writes one line per call, to the same output (access-log.ts). */
  access: AccessLog
  /** flush writes out what is buffered (shutdown). */
  flush(): void
}

let lastMs = 0
let lastTime = ''

/**
 * isoTime is pino's `,"time":"<ISO 8601>"` made once per millisecond, not once per line: at a few
 * thousand calls a second, formatting the date was a fifth of the access log's cost (V8 profile, `npm run bench -- --cpu-prof`).
 */
export function isoTime(): string {
  const now = Date.now()
  if (now !== lastMs) {
    lastMs = now
    lastTime = `,"time":"${new Date(now).toISOString()}"`
  }
  return lastTime
}

/**
 * createLoggers builds the sidecar's loggers. Lines go out asynchronously in batches (at 4 KiB or
 * every 250 ms, whichever comes first), so a request never waits on stdout and a busy sidecar
 * makes few write calls. Nothing logs bodies, prompts, completions or keys; the redaction is the
 * second line of defence for anything shaped like a header object.
 */
export function createLoggers(opts: { level?: string; destination?: DestinationStream } = {}): Loggers {
  const destination =
    opts.destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 })
  const name = 'tollgate-sidecar'
  const level = opts.level ?? 'info'
  const log = pino(
    {
      name,
      level,
      base: { pid: process.pid },
      timestamp: isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination,
  )
  const access = new AccessLog(destination, { level, name })
  return {
    log,
    access,
    flush() {
      access.flush()
      const sonic = destination as { flushSync?: () => void }
      try {
        sonic.flushSync?.()
      } catch {
        // not ready yet or already closed: nothing buffered can be written anyway
      }
    },
  }
}
