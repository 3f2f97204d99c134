import { describe, expect, it } from 'vitest'
import { parseCli } from './cli.ts'

const env = {
  TOLLGATE_REDIS_URL: 'redis://127.0.0.1:6379',
  TOLLGATE_DATABASE_URL: 'postgres://x@127.0.0.1/db',
}

describe('parseCli', () => {
  it('runs by default with loopback ports and the documented defaults', () => {
    const config = parseCli([], env)
    expect(config).toMatchObject({
      command: 'run',
      metricsListen: '127.0.0.1:8080',
      healthListen: '127.0.0.1:8081',
      workers: 16,
      usageIntervalMs: 5_000,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      leaseNamespace: 'tollgate-system',
      migrate: true,
      alertDefaultAt: [1],
    })
  })

  it('takes the thresholds of budgets without alertAt, none included', () => {
    expect(parseCli(['--alert-default-at', '1,0.8'], env)).toMatchObject({ alertDefaultAt: [0.8, 1] })
    expect(parseCli(['--alert-default-at='], env)).toMatchObject({ alertDefaultAt: [] })
  })

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [[], /no Redis/, {}],
    [['--lease-duration', '5s'], /renew-deadline must be shorter/],
    [['--workers', '0'], /--workers/],
    [['--usage-interval', 'soon'], /--usage-interval: invalid duration/],
    [['migrate'], /up, down, status/],
    [['usage'], /--tenant/],
    [['usage', '--tenant', 't', '--format', 'xml'], /csv or json/],
    [['migrate', 'up', '--redis', 'x'], /--redis is not a flag of migrate/],
    [['deploy'], /unknown command "deploy"/],
    [['--alert-default-at', '1.5'], /--alert-default-at must be distinct fractions/],
    [['--alert-default-at', '1,1'], /--alert-default-at must be distinct fractions/],
  ])('%j fails with one clear line', (args, message, e = env) => {
    expect(() => parseCli(args as string[], e)).toThrow(message)
  })

  it('parses usage export flags', () => {
    expect(parseCli(['usage', '--tenant', 'acme', '--from', '2026-11-01', '--format', 'json'], env)).toEqual({
      command: 'usage',
      tenant: 'acme',
      from: '2026-11-01',
      format: 'json',
      databaseUrl: env.TOLLGATE_DATABASE_URL,
      logLevel: 'info',
    })
  })
})
