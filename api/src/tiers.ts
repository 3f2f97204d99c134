import type { Limits, Tier } from './tenant.ts'

/**
 * TierTable gives each tier its default tenant-wide limits; a Tenant's own `limits` override
 * field by field. The operator can load another table from a mounted file.
 */
export type TierTable = Record<Tier, Limits>

export const DEFAULT_TIERS: TierTable = {
  free: { requestsPerMinute: 20, tokensPerMinute: 40_000, tokensPerDay: 500_000, concurrency: 4 },
  standard: { requestsPerMinute: 120, tokensPerMinute: 200_000, tokensPerDay: 5_000_000, concurrency: 16 },
  pro: { requestsPerMinute: 600, tokensPerMinute: 1_000_000, tokensPerDay: 50_000_000, concurrency: 64 },
  enterprise: {
    requestsPerMinute: 3_000,
    tokensPerMinute: 5_000_000,
    tokensPerDay: 500_000_000,
    concurrency: 256,
  },
  unlimited: {},
}
