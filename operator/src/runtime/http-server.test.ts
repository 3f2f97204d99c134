import { describe, expect, it } from 'vitest'
import { parseListen } from './http-server.ts'

describe('parseListen', () => {
  it.each([
    ['127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    ['[::1]:0', { host: '::1', port: 0 }],
    [':9090', { host: '127.0.0.1', port: 9090 }],
  ])('%s', (text, expected) => {
    expect(parseListen(text)).toEqual(expected)
  })

  it.each(['8080', 'host:', 'host:99999'])('refuses %s', (text) => {
    expect(() => parseListen(text)).toThrow(/invalid/)
  })
})
