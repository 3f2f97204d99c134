import type { TenantStatus } from '@tollgate/api'
import { describe, expect, it } from 'vitest'
import { periodBounds } from '../usage/periods.ts'
import { computeTenantStatus, statusEqual, type TenantObservation } from './tenant-status.ts'

const t0 = new Date('2026-11-23T10:00:00Z')
const t1 = new Date('2026-11-23T11:00:00Z')
const ok: TenantObservation = {
  generation: 2,
  suspended: false,
  configVersion: 7,
  secretProblems: [],
  referenceProblems: [],
  appliedPolicies: ['gpt4-limits'],
}
const cond = (s: TenantStatus, type: string) => s.conditions?.find((c) => c.type === type)

describe('computeTenantStatus', () => {
  it('is Ready, Accepted and Synced with observedGeneration when all went well', () => {
    const s = computeTenantStatus(undefined, ok, t0)
    expect(s.observedGeneration).toBe(2)
    expect(s.configVersion).toBe(7)
    expect(s.appliedPolicies).toEqual(['gpt4-limits'])
    expect(cond(s, 'Ready')).toMatchObject({ status: 'True', reason: 'Ready', observedGeneration: 2 })
    expect(cond(s, 'Accepted')).toMatchObject({ status: 'True', reason: 'Compiled' })
    expect(cond(s, 'Synced')).toMatchObject({ status: 'True', reason: 'Synced' })
    expect(cond(s, 'Suspended')).toMatchObject({ status: 'False' })
  })

  it.each([
    [{ invalidSpec: 'spec.budgets[0].timezone: unknown time zone Mars/Base' }, 'InvalidSpec', 'Accepted'],
    [
      { secretProblems: ['Secret tollgate-system/openai-key not found (provider openai)'] },
      'SecretNotFound',
      'Synced',
    ],
    [{ redisError: 'Connection is closed.' }, 'RedisUnavailable', 'Synced'],
    [
      {
        referenceProblems: [
          "spec.providers[0].credentialsSecretRef: Secret team/openai-key is outside the operator's namespace tollgate-system and no CredentialGrant in team names Tenant acme and Secret openai-key",
        ],
      },
      'ReferenceNotPermitted',
      'Synced',
    ],
  ])('%j makes Ready False with reason %s', (problem, reason, other) => {
    const s = computeTenantStatus(undefined, { ...ok, ...problem }, t0)
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason })
    expect(cond(s, other)?.status).toBe('False')
  })

  it('keeps Ready True but Synced False while Postgres is down', () => {
    const s = computeTenantStatus(undefined, { ...ok, databaseError: 'postgres is unavailable' }, t0)
    expect(cond(s, 'Ready')?.status).toBe('True')
    expect(cond(s, 'Synced')).toMatchObject({ status: 'False', reason: 'DatabaseUnavailable' })
  })

  it('changes lastTransitionTime only when a status flips, so a repeat is equal and not written', () => {
    const first = computeTenantStatus(undefined, ok, t0)
    const again = computeTenantStatus(first, ok, t1)
    expect(statusEqual(first, again)).toBe(true)
    const broken = computeTenantStatus(first, { ...ok, secretProblems: ['missing'] }, t1)
    expect(statusEqual(first, broken)).toBe(false)
    expect(cond(broken, 'Ready')?.lastTransitionTime).toBe(t1.toISOString())
    expect(cond(broken, 'Accepted')?.lastTransitionTime).toBe(t0.toISOString())
  })

  it('keeps fields other controllers own', () => {
    const s = computeTenantStatus({ mediatedPods: 12 }, ok, t0)
    expect(s.mediatedPods).toBe(12)
  })

  it('reports budget conditions from usage', () => {
    const bounds = periodBounds('day', 'UTC', t0)
    const withUsage = (costNano: number) => ({
      ...ok,
      usage: {
        at: t0,
        periods: [
          {
            bounds,
            totals: { requests: 1, inputTokens: 1, outputTokens: 1, costNano },
            limitNano: 10e9,
            alertAt: [0.5, 1],
          },
        ],
      },
    })
    const calm = computeTenantStatus(undefined, withUsage(1e9), t0)
    expect(cond(calm, 'BudgetNearLimit')?.status).toBe('False')
    expect(cond(calm, 'BudgetExceeded')?.status).toBe('False')
    const near = computeTenantStatus(undefined, withUsage(6e9), t0)
    expect(cond(near, 'BudgetNearLimit')).toMatchObject({ status: 'True', reason: 'NearLimit' })
    const over = computeTenantStatus(undefined, withUsage(10e9), t0)
    expect(cond(over, 'BudgetExceeded')).toMatchObject({ status: 'True', reason: 'BudgetExceeded' })
    expect(cond(over, 'BudgetExceeded')?.message).toContain('until 2026-11-24T00:00:00.000Z')
    expect(cond(over, 'BudgetNearLimit')?.status).toBe('False')
    expect(over.usage?.[0]?.remainingUSD).toBe('0')
  })
})
