import { describe, expect, it } from 'vitest'
import { HeaderAllowList } from './forwarded-headers.ts'

describe('HeaderAllowList', () => {
  const openai = new HeaderAllowList('openai')
  const anthropic = new HeaderAllowList('anthropic')
  const gateway = new HeaderAllowList('openai-compatible', ['x-portkey-*', 'x-route', 'authorization'])

  it.each([
    [openai, 'content-type', true],
    [openai, 'openai-beta', true],
    [openai, 'x-stainless-retry-count', true],
    [openai, 'traceparent', true],
    [openai, 'openai-organization', false],
    [openai, 'openai-project', false],
    [openai, 'authorization', false],
    [openai, 'api-key', false],
    [openai, 'anthropic-version', false],
    [openai, 'x-custom', false],
    [anthropic, 'anthropic-version', true],
    [anthropic, 'anthropic-beta', true],
    [anthropic, 'x-api-key', false],
    [anthropic, 'openai-beta', false],
    [gateway, 'x-portkey-provider', true],
    [gateway, 'x-route', true],
    // a Tenant listing a credential does not make the sidecar forward it
    [gateway, 'authorization', false],
    [gateway, 'x-other', false],
  ])('%#: %s', (list, header, expected) => {
    expect(list.allows(header)).toBe(expected)
  })
})
