import { createHmac } from 'node:crypto'

/**
 * RedisPasswords derives each tenant's Redis password for a rotation epoch (an HMAC of the tenant
 * and the epoch number under a key derived from the operator's seed). Every replica computes the
 * same passwords, so the exchange on any replica hands out what the leader installed, and rotation
 * needs no stored state: epochs of `rotationMs` follow the clock. The tenant's ACL user accepts
 * the previous, current and next epoch's passwords, so a password handed out in epoch e works
 * until epoch e+2 begins (at least one full period) and replicas may disagree by an epoch.
 */
export class RedisPasswords {
  readonly #key: Buffer
  readonly rotationMs: number

  constructor(key: Buffer, rotationMs: number) {
    if (!Number.isSafeInteger(rotationMs) || rotationMs < 60_000)
      throw new Error('Redis password rotation must be at least 1m')
    this.#key = key
    this.rotationMs = rotationMs
  }

  epoch(at: Date): number {
    return Math.floor(at.getTime() / this.rotationMs)
  }

  password(tenant: string, epoch: number): string {
    return createHmac('sha256', this.#key).update(`${tenant}\n${epoch}`).digest('base64url')
  }

  /** current is the password the exchange hands out now. */
  current(tenant: string, at: Date): string {
    return this.password(tenant, this.epoch(at))
  }

  /** accepted are the passwords the tenant's ACL user takes now: previous, current, next epoch. */
  accepted(tenant: string, at: Date): string[] {
    const e = this.epoch(at)
    return [e - 1, e, e + 1].map((epoch) => this.password(tenant, epoch))
  }

  /** untilNextEpoch is how long until the accepted set changes. */
  untilNextEpoch(at: Date): number {
    return (this.epoch(at) + 1) * this.rotationMs - at.getTime()
  }
}
