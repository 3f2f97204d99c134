import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLoggers, isoTime } from './logger.ts'

describe('createLoggers', () => {
  it('stamps every line with the ISO time of its millisecond', () => {
    const lines: string[] = []
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        done()
      },
    })
    const { access } = createLoggers({ destination })
    const before = Date.now()
    const line = { method: 'POST', provider: 'openai', model: 'm', status: 200, ms: 1 }
    const rest = {
      ttftMs: undefined,
      inputTokens: 1,
      outputTokens: 2,
      costNano: 3,
      code: undefined,
      aborted: false,
    }
    access.write({ requestId: 'r1', ...line, ...rest })
    access.write({ requestId: 'r2', ...line, ...rest })
    access.flush()
    const after = Date.now()
    const written = lines.join('').split('\n').filter(Boolean)
    expect(written).toHaveLength(2)
    for (const line of written) {
      const { time } = JSON.parse(line) as { time: string }
      expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      expect(Date.parse(time)).toBeGreaterThanOrEqual(before)
      expect(Date.parse(time)).toBeLessThanOrEqual(after)
    }
  })

  it('makes the time anew once the millisecond has passed', async () => {
    const first = isoTime()
    await new Promise((r) => setTimeout(r, 5))
    const second = isoTime()
    expect(second).not.toBe(first)
    expect(Date.parse(JSON.parse(`{${second.slice(1)}}`).time)).toBeGreaterThan(
      Date.parse(JSON.parse(`{${first.slice(1)}}`).time),
    )
  })
})
