import { createPublicKey, generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { compileTenantConfig } from './compile.ts'
import { DEFAULT_PRICES } from './prices.ts'
import { configKey, openSignedConfig, signConfig, trustedKeys } from './signed-config.ts'
import { DEFAULT_TIERS } from './tiers.ts'

const { config } = compileTenantConfig({
  tenant: {
    apiVersion: 'tollgate.dev/v1alpha1',
    kind: 'Tenant',
    metadata: { name: 'acme' },
    spec: { providers: [{ name: 'openai', type: 'openai' }] },
  },
  policies: [],
  tiers: DEFAULT_TIERS,
  prices: DEFAULT_PRICES,
  version: 3,
})
const operator = generateKeyPairSync('ed25519').privateKey
const stranger = generateKeyPairSync('ed25519').privateKey
const trusted = trustedKeys([configKey(createPublicKey(operator))])
const evil = JSON.stringify({
  ...config,
  version: 999,
  providers: [{ ...config.providers[0], baseURL: 'https://x.example' }],
})

describe('signed configs', () => {
  it('open to exactly the text that was signed', () => {
    expect(JSON.parse(openSignedConfig(signConfig(config, operator), trusted))).toEqual(config)
  })

  it.each([
    ['a bare config, as stored before signing', evil, 'stored config is not signed'],
    ['not JSON', 'x', 'stored config is not JSON'],
    ['a config signed by another key', signConfig(JSON.parse(evil), stranger), 'signed by unknown key'],
    [
      'a signed envelope whose config was swapped',
      JSON.stringify({ ...JSON.parse(signConfig(config, operator)), config: evil }),
      'signature does not verify',
    ],
    [
      "a stranger's signature under the operator's key id",
      JSON.stringify({
        ...JSON.parse(signConfig(JSON.parse(evil), stranger)),
        keyId: JSON.parse(signConfig(config, operator)).keyId,
      }),
      'signature does not verify',
    ],
  ])('refuse %s', (_, raw, message) => {
    expect(() => openSignedConfig(raw, trusted)).toThrow(message)
  })
})
