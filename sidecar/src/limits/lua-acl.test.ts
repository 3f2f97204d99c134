import { readdirSync, readFileSync } from 'node:fs'
import { SIDECAR_COMMANDS } from '@tollgate/api/redis-acl.ts'
import { describe, expect, it } from 'vitest'

// Redis checks the commands a script calls against the caller's ACL user, so a command a script
// calls but the tenant's user lacks fails only in managed mode (standalone sidecars log in with a
// wider user), and only on the branch that calls it: lease.lua, for one, writes slots, leases and
// settlements only on some calls. Every script of the sidecar (limits/, deferred/) is checked.
const dir = new URL('../', import.meta.url)
const scripts = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.lua'))

describe('the Lua scripts of the sidecar', () => {
  it('are found', () => expect(scripts.length).toBeGreaterThan(0))

  it.each(scripts)('%s calls only commands a tenant user may run (SIDECAR_COMMANDS)', (file) => {
    const source = readFileSync(new URL(file, dir), 'utf8')
    const called = [...source.matchAll(/redis\.p?call\(\s*['"]([A-Za-z]+)['"]/g)].map((m) =>
      (m[1] as string).toLowerCase(),
    )
    expect(called.length).toBeGreaterThan(0)
    expect(called.filter((c) => !(SIDECAR_COMMANDS as readonly string[]).includes(c))).toEqual([])
  })
})
