import { describe, expect, it } from 'vitest'
import { RedisPasswords } from './redis-passwords.ts'

const HOUR = 3_600_000
const passwords = new RedisPasswords(Buffer.alloc(32, 1), HOUR)
const t = (iso: string) => new Date(iso)

describe('RedisPasswords', () => {
  it('gives every replica the same password for a tenant and epoch, and each tenant its own', () => {
    const other = new RedisPasswords(Buffer.alloc(32, 1), HOUR)
    expect(other.current('acme', t('2026-12-01T10:15:00Z'))).toBe(
      passwords.current('acme', t('2026-12-01T10:45:00Z')),
    )
    expect(passwords.current('acme', t('2026-12-01T10:15:00Z'))).not.toBe(
      passwords.current('globex', t('2026-12-01T10:15:00Z')),
    )
    expect(new RedisPasswords(Buffer.alloc(32, 2), HOUR).current('acme', t('2026-12-01T10:15:00Z'))).not.toBe(
      passwords.current('acme', t('2026-12-01T10:15:00Z')),
    )
  })

  it('accepts the previous, current and next epoch, so a password handed out lasts a full period', () => {
    const handedOut = passwords.current('acme', t('2026-12-01T10:59:59Z'))
    expect(passwords.accepted('acme', t('2026-12-01T11:59:59Z'))).toContain(handedOut)
    expect(passwords.accepted('acme', t('2026-12-01T12:00:00Z'))).not.toContain(handedOut)
    // A replica an epoch ahead hands out what the leader already accepts.
    expect(passwords.accepted('acme', t('2026-12-01T10:30:00Z'))).toContain(
      passwords.current('acme', t('2026-12-01T11:30:00Z')),
    )
  })

  it('says when the accepted set changes next', () => {
    expect(passwords.untilNextEpoch(t('2026-12-01T10:45:00Z'))).toBe(15 * 60_000)
  })

  it('refuses a rotation shorter than a minute', () => {
    expect(() => new RedisPasswords(Buffer.alloc(32), 1_000)).toThrow('at least 1m')
  })
})
