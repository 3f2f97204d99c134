import { type Logger, pino } from 'pino'

/**
 * createLogger builds the operator's JSON logger on stderr. Secret data never reaches a log
 * line: the redact paths cover the places an object with credentials could appear.
 */
export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { component: 'tollgate-operator' },
      redact: {
        paths: ['data', '*.data', 'stringData', '*.stringData', 'url', '*.url', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  )
}
