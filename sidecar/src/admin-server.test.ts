import { describe, expect, it } from 'vitest'
import { isLoopback } from './admin-server.ts'

describe('isLoopback (who may read /config and /usage)', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.0.0.53', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['10.244.1.7', false], // another pod
    ['::ffff:10.244.1.7', false],
    ['fe80::1', false],
    [undefined, false],
  ])('%s → %s', (address, expected) => {
    expect(isLoopback(address)).toBe(expected)
  })
})
