import { Writable } from 'node:stream'
import { pino } from 'pino'
import { describe, expect, it, vi } from 'vitest'
import { type AccessFields, AccessLog } from './access-log.ts'
import { isoTime } from './logger.ts'

/** capture is a destination that keeps the lines written to it. */
function capture() {
  const lines: string[] = []
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk))
      done()
    },
  })
  return { lines, destination }
}

const CALLS: AccessFields[] = [
  {
    requestId: 'b7c1d2e3-0000-4000-8000-123456789abc',
    method: 'POST',
    provider: 'openai',
    model: 'gpt-4o-mini',
    status: 200,
    ms: 3,
    ttftMs: undefined,
    inputTokens: 7,
    outputTokens: 12,
    costNano: 8250,
    code: undefined,
    aborted: false,
  },
  {
    requestId: 'r-2',
    method: 'POST',
    provider: 'anthropic',
    model: 'a "model"\n\\ with \u2028 odd text\u0007',
    status: 499,
    ms: 120,
    ttftMs: 40,
    inputTokens: 0,
    outputTokens: 0,
    costNano: Number.NaN,
    code: 'TOLLGATE_ERR_RATE_LIMITED',
    aborted: true,
  },
  {
    requestId: 'r-3',
    method: undefined,
    provider: 'none',
    model: undefined,
    status: 404,
    ms: 0,
    ttftMs: undefined,
    inputTokens: 0,
    outputTokens: 0,
    costNano: 0,
    code: 'TOLLGATE_ERR_UNKNOWN_PROVIDER',
    aborted: false,
  },
]

describe('AccessLog', () => {
  it.each(CALLS)('writes the line pino writes for the same call: $provider $status', (call) => {
    const ours = capture()
    const access = new AccessLog(ours.destination, { level: 'info', name: 'tollgate-sidecar' })
    access.write(call)
    access.flush()
    const theirs = capture()
    const opts = { name: 'tollgate-sidecar', base: { pid: process.pid }, timestamp: isoTime }
    pino(opts, theirs.destination).info({ ...call, aborted: call.aborted || undefined }, 'call')
    expect(ours.lines).toHaveLength(1)
    const [mine, pinos] = [ours.lines[0], theirs.lines[0]].map((l) => {
      expect(l?.endsWith('}\n')).toBe(true)
      const { time, ...rest } = JSON.parse(l as string) as Record<string, unknown>
      expect(typeof time).toBe('string')
      return rest
    })
    expect(Object.keys(mine ?? {})).toEqual(Object.keys(pinos ?? {}))
    expect(mine).toEqual(pinos)
  })

  it('hands lines over in batches: at 8 KiB, on flush, and by itself soon after the last', async () => {
    const out = capture()
    const access = new AccessLog(out.destination, { level: 'info', name: 'tollgate-sidecar' })
    const call = CALLS[0] as AccessFields
    access.write(call)
    expect(out.lines).toEqual([])
    let written = 1
    while (out.lines.length === 0) {
      access.write({ ...call, requestId: `r${written}` })
      written++
    }
    expect(out.lines[0]?.length).toBeGreaterThanOrEqual(8 * 1024)
    access.write({ ...call, requestId: 'last' })
    const before = out.lines.length
    // nothing more is written: the last line goes out by itself once its 100 ms have passed
    await vi.waitFor(() => expect(out.lines.length).toBe(before + 1), { timeout: 5_000 })
    const lines = out.lines.join('').split('\n').filter(Boolean)
    expect(lines).toHaveLength(written + 1)
    expect(lines.map((l) => (JSON.parse(l) as { requestId: string }).requestId).at(-1)).toBe('last')
  })

  it('writes nothing when the level is above info', () => {
    for (const level of ['warn', 'error', 'silent']) {
      const out = capture()
      const access = new AccessLog(out.destination, { level, name: 'x' })
      expect(access.enabled).toBe(false)
    }
    expect(new AccessLog(capture().destination, { level: 'debug', name: 'x' }).enabled).toBe(true)
  })
})
