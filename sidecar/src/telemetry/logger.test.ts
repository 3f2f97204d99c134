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
    access.info({ requestId: 'r1' }, 'call')
    access.info({ requestId: 'r2' }, 'call')
    const after = Date.now()
    expect(lines).toHaveLength(2)
    for (const line of lines) {
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
