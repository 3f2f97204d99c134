import { describe, expect, it } from 'vitest'
import { canonicalJson } from './canonical-json.ts'

describe('canonicalJson', () => {
  it.each([
    [
      'sorts keys at every depth',
      { b: 1, a: { d: [{ z: 1, y: 2 }], c: null } },
      '{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}',
    ],
    ['keeps array order', [3, 1, 2], '[3,1,2]'],
    ['drops undefined members like JSON does', { a: undefined, b: 1 }, '{"b":1}'],
    ['writes numbers as JSON does', JSON.parse('{"t":1.0,"u":1e2,"v":-0}'), '{"t":1,"u":100,"v":0}'],
    ['escapes strings and keys', { 'k"': 'line\nnext' }, '{"k\\"":"line\\nnext"}'],
    ['sorts by code unit, not locale', { b: 1, B: 2, á: 3 }, '{"B":2,"b":1,"á":3}'],
    ['scalars', 'x', '"x"'],
  ])('%s', (_, value, text) => {
    expect(canonicalJson(value)).toBe(text)
  })

  it('equal values with different key order and spacing serialise equally', () => {
    const a = JSON.parse('{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"temperature":0}')
    const b = JSON.parse(
      '{ "temperature": 0, "messages": [ { "content": "hi", "role": "user" } ], "model": "gpt-4o" }',
    )
    expect(canonicalJson(a)).toBe(canonicalJson(b))
  })
})
