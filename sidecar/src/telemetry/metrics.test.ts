import { describe, expect, it } from 'vitest'
import { SidecarMetrics } from './metrics.ts'

describe('SidecarMetrics', () => {
  it('serves what calls counted since the last scrape, and each count once', async () => {
    const metrics = new SidecarMetrics({ tenant: 'acme', processMetrics: false })
    const series = metrics.series('openai', 'gpt-4o-mini')
    series.status(200).inc()
    series.status(200).inc()
    series.input.inc(7)
    series.duration.observe(0.2)
    const first = await metrics.registry.metrics()
    expect(first).toContain(
      'tollgate_requests_total{provider="openai",model="gpt-4o-mini",status="200",tenant="acme"} 2',
    )
    expect(first).toContain(
      'tollgate_tokens_total{provider="openai",model="gpt-4o-mini",type="input",tenant="acme"} 7',
    )
    expect(first).toContain(
      'tollgate_request_duration_seconds_count{tenant="acme",provider="openai",model="gpt-4o-mini"} 1',
    )
    series.status(200).inc()
    const second = await metrics.registry.metrics()
    expect(second).toContain(
      'tollgate_requests_total{provider="openai",model="gpt-4o-mini",status="200",tenant="acme"} 3',
    )
    expect(second).toContain(
      'tollgate_tokens_total{provider="openai",model="gpt-4o-mini",type="input",tenant="acme"} 7',
    )
  })

  it('drops a count prom-client would refuse, and keeps serving the others', async () => {
    const metrics = new SidecarMetrics({ processMetrics: false })
    const series = metrics.series('openai', 'm')
    series.output.inc(Number.NaN)
    series.output.inc(-3)
    series.output.inc(5)
    series.cost.inc(Number.POSITIVE_INFINITY)
    const text = await metrics.registry.metrics()
    expect(text).toContain('tollgate_tokens_total{provider="openai",model="m",type="output"} 5')
    expect(text).not.toMatch(/tollgate_cost_usd_total\{/)
  })
})
