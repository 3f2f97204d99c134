import { Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { CallHistogram } from './call-histogram.ts'

const BUCKETS = [0.05, 0.1, 0.25, 1, 8]
const OBSERVED: [Record<string, string>, number][] = [
  [{ provider: 'openai', model: 'gpt-4o-mini' }, 0.03],
  [{ provider: 'openai', model: 'gpt-4o-mini' }, 0.1],
  [{ provider: 'openai', model: 'gpt-4o-mini' }, 0.7],
  [{ model: 'claude "q"\\', provider: 'anthropic' }, 12],
  [{ provider: 'anthropic', model: 'claude "q"\\' }, 0.05],
  [{ provider: 'openai', model: 'gpt-4o-mini' }, 8],
]

/** text is what a registry with a default tenant label serves for the observations. */
async function text(make: (registry: Registry) => (labels: Record<string, string>, v: number) => void) {
  const registry = new Registry()
  registry.setDefaultLabels({ tenant: 'team-a' })
  const observe = make(registry)
  for (const [labels, value] of OBSERVED) observe(labels, value)
  return registry.metrics()
}

describe('CallHistogram', () => {
  it('serves what a prom-client Histogram serves for the same observations', async () => {
    const opts = { name: 'tollgate_test_seconds', help: 'A test.', buckets: BUCKETS }
    const expected = await text((registry) => {
      const h = new Histogram({ ...opts, labelNames: ['provider', 'model'], registers: [registry] })
      return (labels, v) => h.observe(labels, v)
    })
    const actual = await text((registry) => {
      const h = new CallHistogram({ ...opts, registers: [registry] })
      return (labels, v) => h.series(labels).observe(v)
    })
    expect(expected).toContain('tollgate_test_seconds_bucket{le="0.05",tenant="team-a",provider="openai"')
    expect(actual).toBe(expected)
  })

  it('refuses a value that is not a number, like prom-client', () => {
    const h = new CallHistogram({ name: 'tollgate_nan_seconds', help: 'x', buckets: BUCKETS, registers: [] })
    expect(() => h.series({ a: 'b' }).observe(Number.NaN)).toThrow(/not a valid number/)
  })
})
