import { type DestinationStream, type Logger, pino } from 'pino'

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

/**
 * createLogger builds the sidecar's pino logger. Lines go out asynchronously (sonic-boom without
 * sync), so a request never waits on stdout. Nothing logs bodies, prompts, completions or keys;
 * the redaction is the second line of defence for header objects.
 */
export function createLogger(opts: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      name: 'tollgate-sidecar',
      level: opts.level ?? 'info',
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  )
}
