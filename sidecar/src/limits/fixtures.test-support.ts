import { randomUUID } from 'node:crypto'
import {
  API_VERSION,
  type CompiledConfig,
  compileTenantConfig,
  DEFAULT_PRICES,
  DEFAULT_TIERS,
  type RateLimitPolicySpec,
  type TenantSpec,
} from '@tollgate/api'
import type { LimitRequest } from './limiter.ts'

/** uniqueTenant names a tenant no other test uses, so tests can share one Redis. */
export const uniqueTenant = (prefix = 't') => `${prefix}-${randomUUID().slice(0, 13)}`

/** compile builds a CompiledConfig the way the operator does, from a Tenant spec and policies. */
export function compile(
  tenant: string,
  spec: Partial<TenantSpec>,
  policies: Record<string, Omit<RateLimitPolicySpec, 'targetRefs'>> = {},
): CompiledConfig {
  return compileTenantConfig({
    tenant: {
      apiVersion: API_VERSION,
      kind: 'Tenant',
      metadata: { name: tenant },
      spec: {
        tier: 'unlimited',
        providers: [
          { name: 'openai', type: 'openai' },
          { name: 'anthropic', type: 'anthropic' },
        ],
        ...spec,
      },
    },
    policies: Object.entries(policies).map(([name, policySpec]) => ({
      apiVersion: API_VERSION,
      kind: 'RateLimitPolicy',
      metadata: { name },
      spec: { targetRefs: [{ kind: 'Tenant', name: tenant }], ...policySpec },
    })),
    tiers: DEFAULT_TIERS,
    prices: DEFAULT_PRICES,
    version: 1,
  }).config
}

/** call is a LimitRequest with round numbers, overridable per test. */
export const call = (config: CompiledConfig, over: Partial<LimitRequest> = {}): LimitRequest => ({
  tenant: config.tenant,
  provider: 'openai',
  model: 'gpt-4o',
  estimatedTokens: 100,
  estimatedCostNano: 1_000,
  config,
  ...over,
})

/** SteppedClock is a settable clock for limiter tests. */
export class SteppedClock {
  now: number
  constructor(start: string | number) {
    this.now = typeof start === 'string' ? Date.parse(start) : start
  }
  readonly read = () => this.now
  advance(ms: number) {
    this.now += ms
  }
  set(at: string) {
    this.now = Date.parse(at)
  }
}
