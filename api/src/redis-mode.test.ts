import { describe, expect, it } from 'vitest'
import { clusterSeed } from './redis-mode.ts'

describe('clusterSeed', () => {
  it.each([
    ['redis://10.0.0.1:7000', { seed: { host: '10.0.0.1', port: 7000 }, options: {} }],
    ['redis://redis.svc', { seed: { host: 'redis.svc', port: 6379 }, options: {} }],
    [
      'rediss://tollgate-operator:p%40ss@redis.svc:6380',
      {
        seed: { host: 'redis.svc', port: 6380 },
        options: { username: 'tollgate-operator', password: 'p@ss', tls: { servername: 'redis.svc' } },
      },
    ],
    ['redis://[::1]:7000/0', { seed: { host: '::1', port: 7000 }, options: {} }],
  ])('%s', (url, want) => {
    expect(clusterSeed(url)).toEqual(want)
  })

  it.each([
    ['http://redis.svc:6379', /redis:\/\/ or rediss:\/\//],
    ['redis://redis.svc:6379/2', /database 0 only/],
    ['not a url', /Invalid URL/],
  ])('refuses %s', (url, problem) => {
    expect(() => clusterSeed(url)).toThrow(problem)
  })
})
