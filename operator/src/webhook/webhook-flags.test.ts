import { parseArgs } from 'node:util'
import { describe, expect, it } from 'vitest'
import { parseWebhookFlags, WEBHOOK_OPTIONS } from './webhook-flags.ts'

const parse = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  parseWebhookFlags(parseArgs({ args, options: WEBHOOK_OPTIONS, strict: true }).values, env)

describe('webhook flags', () => {
  it('is off without --webhook-listen', () => {
    expect(parse([])).toBeUndefined()
  })

  it('takes the chart flags', () => {
    expect(
      parse([
        '--webhook-listen=0.0.0.0:9443',
        '--webhook-failure-policy=Fail',
        '--webhook-cert-mode=cert-manager',
        '--webhook-cert-secret=t-webhook-cert',
        '--webhook-config-name=t',
        '--webhook-service=t',
        '--webhook-cert-hosts=127.0.0.1, localhost,::1',
        '--injection-config=/etc/tollgate/injection.yaml',
      ]),
    ).toEqual({
      host: '0.0.0.0',
      port: 9443,
      failurePolicy: 'Fail',
      certMode: 'cert-manager',
      certSecret: 't-webhook-cert',
      webhookConfigName: 't',
      serviceName: 't',
      namespace: 'tollgate-system',
      extraDNSNames: ['localhost'],
      extraIPAddresses: ['127.0.0.1', '::1'],
      injectionConfigFile: '/etc/tollgate/injection.yaml',
      exchangeURL: 'https://t.tollgate-system.svc:443/exchange',
      exchangeTtlMs: 3_600_000,
    })
  })

  it('takes an exchange URL and lifetime, and refuses a plain-http exchange', () => {
    expect(
      parse([
        '--webhook-listen=127.0.0.1:0',
        '--exchange-url=https://127.0.0.1:9443/exchange',
        '--exchange-ttl=5m',
      ]),
    ).toMatchObject({ exchangeURL: 'https://127.0.0.1:9443/exchange', exchangeTtlMs: 300_000 })
    expect(() => parse(['--webhook-listen=127.0.0.1:0', '--exchange-url=http://op:9443/exchange'])).toThrow(
      '--exchange-url must be an https URL',
    )
  })

  it('reads the listen address from the environment and defaults the rest', () => {
    expect(parse([], { TOLLGATE_WEBHOOK_LISTEN: '[::1]:0', POD_NAMESPACE: 'tg' })).toMatchObject({
      namespace: 'tg',
      host: '::1',
      port: 0,
      failurePolicy: 'Ignore',
      certMode: 'operator',
      certSecret: 'tollgate-webhook-cert',
    })
  })

  it.each([
    [['--webhook-listen=9443'], '--webhook-listen: expected HOST:PORT, got "9443"'],
    [
      ['--webhook-listen=:9443', '--webhook-failure-policy=Maybe'],
      '--webhook-failure-policy is Ignore or Fail',
    ],
    [
      ['--webhook-listen=:9443', '--webhook-cert-mode=vault'],
      '--webhook-cert-mode is operator or cert-manager',
    ],
    [['--webhook-service=t'], '--webhook-service needs --webhook-listen'],
  ])('refuses %j with one line', (args, message) => {
    expect(() => parse(args)).toThrow(message)
  })
})
