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
      exchange: undefined,
      maxBodyBytes: 32 * 1024 * 1024,
      maxInflightBodyBytes: 32 * 1024 * 1024,
      drainTimeoutMs: 25_000,
      logLevel: 'info',
    })
  })

  it('reads the exchange of managed mode, with the token file the injector mounts', () => {
    const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
    const options = parseFlags(['--redis', 'redis://r:6379', '--tenant', 'acme'], {
      TOLLGATE_EXCHANGE_URL: 'https://tollgate.tollgate-system.svc:443/exchange',
      TOLLGATE_EXCHANGE_CA: ca,
    })
    expect(options?.exchange).toEqual({
      url: 'https://tollgate.tollgate-system.svc:443/exchange',
      ca,
      tokenFile: '/var/run/secrets/tollgate.dev/token',
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
    [['--config', 'a', '--config-resync', '10ms'], {}, /--config-resync: at least 100ms/],
    [['--config', 'a'], { TOLLGATE_CONFIG_RESYNC: 'often' }, /--config-resync/],
    [['--config', 'a', '--log-level', 'loud'], {}, /--log-level/],
    [['stray'], {}, /Unexpected argument 'stray'/],
    [
      ['--redis', 'redis://x:6379', '--tenant', 't'],
      {},
      /managed mode needs --exchange-url and --exchange-ca/,
    ],
    [
      ['--redis', 'redis://x:6379', '--tenant', 't', '--exchange-url', 'http://op/exchange'],
      { TOLLGATE_EXCHANGE_CA: '-----BEGIN CERTIFICATE-----' },
      /--exchange-url: expected https/,
    ],
    [
      ['--redis', 'redis://u:pw@x:6379', '--tenant', 't', '--exchange-url', 'https://op/exchange'],
      { TOLLGATE_EXCHANGE_CA: '-----BEGIN CERTIFICATE-----' },
      /must carry no user or password/,
    ],
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
