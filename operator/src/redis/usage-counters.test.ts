import { describe, expect, it } from 'vitest'
import { luaChecksum, parseUsageHash } from './usage-counters.ts'

describe('parseUsageHash', () => {
  it('groups counters by provider, model and namespace', () => {
    const usage = parseUsageHash('2026-11-23T15', {
      'openai|gpt-4o|prod|requests': '3',
      'openai|gpt-4o|prod|inputTokens': '100',
      'openai|gpt-4o|prod|costNano': '2500',
      'anthropic|claude-sonnet-4|dev|requests': '1',
      'openai|gpt-4o|prod|futureCounter': '9',
      malformed: '1',
    })
    expect(usage.rows).toHaveLength(2)
    const openai = usage.rows.find((r) => r.provider === 'openai')
    expect(openai?.counters).toMatchObject({ requests: 3, inputTokens: 100, costNano: 2500, outputTokens: 0 })
    expect(usage.rows.find((r) => r.provider === 'anthropic')?.namespace).toBe('dev')
  })

  it('keeps each sidecar instance apart, and fields without one as the shared totals of older sidecars', () => {
    const usage = parseUsageHash('2026-11-23T15', {
      'openai|gpt-4o|prod|requests|a1': '3',
      'openai|gpt-4o|prod|requests|b2': '4',
      'openai|gpt-4o|prod|costNano|b2': '40',
      'openai|gpt-4o|prod|requests': '5',
    })
    const byInstance = Object.fromEntries(usage.rows.map((r) => [r.instance, r.counters]))
    expect(byInstance).toEqual({
      a1: expect.objectContaining({ requests: 3, costNano: 0 }),
      b2: expect.objectContaining({ requests: 4, costNano: 40 }),
      '': expect.objectContaining({ requests: 5 }),
    })
  })

  it('reads the workload and end user of sidecars since issue 15 beside the older fields', () => {
    const usage = parseUsageHash('2026-11-23T15', {
      'openai|gpt-4o|prod|requests|a1|deployment/chat|alice': '2',
      'openai|gpt-4o|prod|requests|a1|deployment/chat|': '1',
      'openai|gpt-4o|prod|requests|a1': '7',
    })
    const rows = usage.rows.map((r) => [r.workload, r.user, r.counters.requests]).sort()
    expect(rows).toEqual([
      ['', '', 7],
      ['deployment/chat', '', 1],
      ['deployment/chat', 'alice', 2],
    ])
  })

  it('checksums field count and the sum of all values, as the release script does', () => {
    expect(luaChecksum({ a: '1', b: '2' })).toBe('2:3')
    expect(luaChecksum({})).toBe('0:0')
    expect(luaChecksum({ a: '9007199254740000' })).toBe('1:9007199254740000')
  })
})
