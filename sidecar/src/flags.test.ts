import { describe, expect, it } from 'vitest'
import { parseFlags, parseListen } from './flags.ts'

describe('parseFlags', () => {
  it('reads flags, with variables as fallbacks and defaults for the rest', () => {
    const options = parseFlags(['--config', 'a.yaml', '--listen', '127.0.0.1:0'], {
      TOLLGATE_TENANT: 'acme',
      TOLLGATE_ADMIN_LISTEN: '9000',
      TOLLGATE_NAMESPACE: 'acme-prod',
    })
    expect(options).toMatchObject({
      configFile: 'a.yaml',
      tenant: 'acme',
      listen: { host: '127.0.0.1', port: 0 },
      adminListen: { host: '127.0.0.1', port: 9000 },
      namespace: 'acme-prod',
      credentialsDir: '/var/run/tollgate/credentials',
      maxBodyBytes: 32 * 1024 * 1024,
      maxInflightBodyBytes: 32 * 1024 * 1024,
      drainTimeoutMs: 25_000,
      logLevel: 'info',
    })
  })

  it('lets a flag win over its variable', () => {
    expect(parseFlags(['--config', 'flag.yaml'], { TOLLGATE_CONFIG: 'env.yaml' })?.configFile).toBe(
      'flag.yaml',
    )
  })

  it('returns undefined for --help', () => {
    expect(parseFlags(['--help'], {})).toBeUndefined()
  })

  it.each([
    [['--bogus'], {}, /Unknown option '--bogus'/],
    [[], {}, /give --config FILE/],
    [['--redis', 'redis://x:6379'], {}, /--tenant is required/],
    [['--redis', 'http://x', '--tenant', 't'], {}, /--redis: expected redis:\/\//],
    [['--config', 'a', '--listen', 'nope'], {}, /--listen: expected HOST:PORT/],
    [['--config', 'a', '--max-body-bytes', '-1'], {}, /--max-body-bytes/],
    [['--config', 'a', '--max-inflight-body-bytes', '0'], {}, /--max-inflight-body-bytes/],
    [['--config', 'a', '--max-inflight-body-bytes', '1000'], {}, /smaller than --max-body-bytes/],
    [['--config', 'a'], { TOLLGATE_DRAIN_TIMEOUT: '5 minutes' }, /--drain-timeout/],
    [['--config', 'a', '--log-level', 'loud'], {}, /--log-level/],
    [['stray'], {}, /Unexpected argument 'stray'/],
  ])('refuses %j %j', (argv, env, message) => {
    expect(() => parseFlags(argv, env)).toThrow(message)
  })
})

describe('parseListen', () => {
  it.each([
    ['127.0.0.1:4141', { host: '127.0.0.1', port: 4141 }],
    ['0.0.0.0:80', { host: '0.0.0.0', port: 80 }],
    ['[::1]:4142', { host: '::1', port: 4142 }],
    [':4141', { host: '127.0.0.1', port: 4141 }],
    ['4141', { host: '127.0.0.1', port: 4141 }],
  ])('reads %s', (value, address) => {
    expect(parseListen('listen', value)).toEqual(address)
  })
})
