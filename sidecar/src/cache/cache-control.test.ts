import { describe, expect, it } from 'vitest'
import { isStorableResponse, requestDirective } from './cache-control.ts'

describe('requestDirective', () => {
  it.each([
    [{}, { mode: 'lookup', onlyIfCached: false }],
    [{ 'cache-control': 'no-store' }, { mode: 'bypass' }],
    [{ 'cache-control': 'No-Cache' }, { mode: 'refresh' }],
    [{ 'cache-control': 'max-age=0' }, { mode: 'refresh' }],
    [{ 'cache-control': 'max-age=60' }, { mode: 'lookup', maxAgeSeconds: 60, onlyIfCached: false }],
    [{ 'cache-control': 'max-age="30"' }, { mode: 'lookup', maxAgeSeconds: 30, onlyIfCached: false }],
    [
      { 'cache-control': 'max-age=60, max-age=10' },
      { mode: 'lookup', maxAgeSeconds: 10, onlyIfCached: false },
    ],
    [{ 'cache-control': 'max-age=60, no-cache' }, { mode: 'refresh' }],
    [{ 'cache-control': 'no-cache, no-store' }, { mode: 'bypass' }],
    [{ 'cache-control': 'only-if-cached' }, { mode: 'lookup', onlyIfCached: true }],
    [{ 'cache-control': 'max-stale=100' }, { mode: 'lookup', onlyIfCached: false }],
    [{ 'cache-control': 'max-age=abc' }, { mode: 'lookup', onlyIfCached: false }],
    [{ pragma: 'no-cache' }, { mode: 'refresh' }],
    [
      { pragma: 'no-cache', 'cache-control': 'max-age=5' },
      { mode: 'lookup', maxAgeSeconds: 5, onlyIfCached: false },
    ],
    [{ 'cache-control': ['max-age=5', 'no-store'] }, { mode: 'bypass' }],
  ])('%j → %j', (headers, directive) => {
    expect(requestDirective(headers)).toEqual(directive)
  })
})

describe('isStorableResponse', () => {
  it.each([
    [200, {}, true],
    [200, { 'cache-control': 'private, max-age=0' }, true],
    [200, { 'cache-control': 'no-store' }, false],
    [201, {}, false],
    [429, {}, false],
    [500, {}, false],
  ])('%d %j → %s', (status, headers, storable) => {
    expect(isStorableResponse(status, headers)).toBe(storable)
  })
})
