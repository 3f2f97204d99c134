import type { CompiledBreaker } from '@tollgate/api'
import { describe, expect, it } from 'vitest'
import { SteppedClock } from '../limits/fixtures.test-support.ts'
import { BreakerRegistry } from './breaker-registry.ts'
import { type BreakerPermit, type BreakerState, CircuitBreaker } from './circuit-breaker.ts'
import type { OutcomeKind } from './outcome.ts'

const policy = (over: Partial<CompiledBreaker> = {}): CompiledBreaker => ({
  consecutiveFailures: 3,
  openForMs: 30_000,
  halfOpenProbes: 1,
  on: ['5xx', 'timeout', 'connect'],
  ...over,
})

function setup(over: Partial<CompiledBreaker> = {}) {
  const clock = new SteppedClock('2026-11-23T10:00:00Z')
  const changes: string[] = []
  const breaker = new CircuitBreaker(policy(over), {
    clock: clock.read,
    onStateChange: (from, to) => changes.push(`${from}->${to}`),
  })
  const permit = (): BreakerPermit => {
    const d = breaker.acquire()
    if (!d.allowed) throw new Error(`expected a permit, breaker is ${d.state}`)
    return d.permit
  }
  const call = (outcome: OutcomeKind) => permit().record(outcome)
  return { clock, breaker, changes, permit, call }
}

describe('CircuitBreaker', () => {
  it.each<[string, OutcomeKind[], BreakerState]>([
    ['opens after consecutiveFailures failures in a row', ['5xx', 'timeout', 'connect'], 'open'],
    ['stays closed one failure short', ['5xx', '5xx'], 'closed'],
    ['a success resets the count', ['5xx', '5xx', 'success', '5xx', '5xx'], 'closed'],
    ['an outcome not in `on` resets the count', ['5xx', '5xx', '429', '5xx', '5xx'], 'closed'],
    ['an aborted call neither counts nor resets', ['5xx', 'aborted', '5xx', 'aborted', '5xx'], 'open'],
  ])('%s', (_, outcomes, state) => {
    const { breaker, call } = setup()
    for (const o of outcomes) call(o)
    expect(breaker.state()).toBe(state)
  })

  it('counts 429 when the policy lists it', () => {
    const { breaker, call } = setup({ on: ['429'] })
    for (let i = 0; i < 3; i++) call('429')
    expect(breaker.state()).toBe('open')
  })

  it('refuses while open with the time left, then lets halfOpenProbes probes through', () => {
    const { clock, breaker, changes, call } = setup({ halfOpenProbes: 2 })
    for (let i = 0; i < 3; i++) call('5xx')
    clock.advance(10_000)
    expect(breaker.acquire()).toEqual({ allowed: false, state: 'open', retryAfterMs: 20_000 })
    clock.advance(20_000)
    expect(breaker.state()).toBe('half-open')
    const probes = [breaker.acquire(), breaker.acquire(), breaker.acquire()]
    expect(probes.map((d) => d.allowed && d.permit.probe)).toEqual([true, true, false])
    expect(probes[2]).toEqual({ allowed: false, state: 'half-open', retryAfterMs: 1_000 })
    expect(changes).toEqual(['closed->open', 'open->half-open'])
  })

  it('closes on a probe success', () => {
    const { clock, breaker, changes, call } = setup()
    for (let i = 0; i < 3; i++) call('connect')
    clock.advance(30_000)
    call('success')
    expect(breaker.state()).toBe('closed')
    expect(changes).toEqual(['closed->open', 'open->half-open', 'half-open->closed'])
    // the count starts over
    call('5xx')
    call('5xx')
    expect(breaker.state()).toBe('closed')
  })

  it('opens again on a probe failure, for a full openFor', () => {
    const { clock, breaker, call } = setup()
    for (let i = 0; i < 3; i++) call('5xx')
    clock.advance(30_000)
    call('timeout')
    expect(breaker.state()).toBe('open')
    clock.advance(29_999)
    expect(breaker.acquire().allowed).toBe(false)
    clock.advance(1)
    expect(breaker.acquire().allowed).toBe(true)
  })

  it('an aborted probe frees its place without deciding', () => {
    const { clock, breaker, permit, call } = setup()
    for (let i = 0; i < 3; i++) call('5xx')
    clock.advance(30_000)
    const probe = permit()
    expect(breaker.acquire().allowed).toBe(false)
    probe.record('aborted')
    expect(breaker.state()).toBe('half-open')
    expect(breaker.acquire().allowed).toBe(true)
  })

  it('ignores outcomes of calls let through in an earlier state, and second records', () => {
    const { clock, breaker, permit, call } = setup()
    const slow = permit()
    for (let i = 0; i < 3; i++) call('5xx')
    clock.advance(30_000)
    const probe = permit()
    slow.record('success') // started while closed: no say in half-open
    expect(breaker.state()).toBe('half-open')
    probe.record('5xx')
    probe.record('success')
    expect(breaker.state()).toBe('open')
  })

  it('a failing provider sees at most consecutiveFailures + halfOpenProbes calls per cycle', () => {
    const { clock, breaker } = setup({ consecutiveFailures: 5, halfOpenProbes: 2 })
    let sent = 0
    const attempt = () => {
      const d = breaker.acquire()
      if (!d.allowed) return
      sent++
      d.permit.record('5xx')
    }
    for (let i = 0; i < 100; i++) attempt()
    expect(sent).toBe(5)
    clock.advance(30_000)
    // two probes in flight at once, both fail
    const [a, b, c] = [breaker.acquire(), breaker.acquire(), breaker.acquire()]
    expect([a.allowed, b.allowed, c.allowed]).toEqual([true, true, false])
    if (a.allowed) a.permit.record('5xx')
    if (b.allowed) b.permit.record('5xx')
    for (let i = 0; i < 100; i++) attempt()
    expect(sent).toBe(5)
  })
})

describe('BreakerRegistry', () => {
  it('keeps one breaker per provider and model and reports their states', () => {
    const registry = new BreakerRegistry()
    const config = policy({ consecutiveFailures: 1 })
    const a = registry.get('openai', 'gpt-4o', config)
    expect(registry.get('openai', 'gpt-4o', config)).toBe(a)
    registry.get('openai', 'gpt-4o-mini', config)
    const d = a.acquire()
    if (d.allowed) d.permit.record('5xx')
    expect(registry.snapshot()).toEqual([
      { provider: 'openai', model: 'gpt-4o-mini', state: 'closed' },
      { provider: 'openai', model: 'gpt-4o', state: 'open' },
    ])
  })

  it('applies a changed policy to an existing breaker and keeps its state', () => {
    const registry = new BreakerRegistry()
    const b = registry.get('anthropic', 'claude-sonnet-4-5', policy({ consecutiveFailures: 3 }))
    const fail = () => {
      const d = b.acquire()
      if (d.allowed) d.permit.record('5xx')
    }
    fail()
    registry.get('anthropic', 'claude-sonnet-4-5', policy({ consecutiveFailures: 2 }))
    fail()
    expect(b.state()).toBe('open')
  })
})
