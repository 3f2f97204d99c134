import { type TSchema, Type } from '@sinclair/typebox'
import { DURATION_PATTERN } from './duration.ts'
import { MONEY_PATTERN } from './money.ts'

/**
 * Small builders for Kubernetes structural schemas. Every field carries a description (so
 * `kubectl explain` teaches), strings and lists carry bounds (so CEL cost estimates stay within
 * the API server's budget), and cross-field rules are CEL (`x-kubernetes-validations`) so the API
 * server and the standalone sidecar enforce exactly the same text.
 */

/** Rule is one CEL validation rule as the API server takes it. */
export interface Rule {
  rule: string
  message: string
  fieldPath?: string
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate'
}

export const rules = (...list: Rule[]) => ({ 'x-kubernetes-validations': list })

export const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'
export const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'

export const name = (description: string) =>
  Type.String({ description, minLength: 1, maxLength: 63, pattern: DNS_LABEL })

export const objectName = (description: string) =>
  Type.String({ description, minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN })

export const duration = (description: string, extra: Record<string, unknown> = {}) =>
  Type.String({ description, maxLength: 32, pattern: DURATION_PATTERN, format: 'duration', ...extra })

export const money = (description: string) =>
  Type.String({ description, maxLength: 24, pattern: MONEY_PATTERN })

export const count = (description: string, maximum = 1_000_000_000) =>
  Type.Integer({ description, minimum: 1, maximum, format: 'int64' })

/** enumOf is a string enum typed as the union of its values (no anyOf: CRDs forbid it). */
export const enumOf = <const V extends readonly string[]>(values: V, description: string, extra = {}) =>
  Type.Unsafe<V[number]>({ type: 'string', enum: [...values], description, ...extra })

export const list = <T extends TSchema>(items: T, description: string, maxItems: number, extra = {}) =>
  Type.Array(items, { description, maxItems, ...extra })

/** A model or provider glob: `gpt-4o*`, `claude-*`, `*`. */
export const glob = (description: string) =>
  Type.String({ description, minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9*?._:/@-]+$' })

export const secretKeyRef = (description: string) =>
  Type.Object(
    {
      namespace: name('Namespace of the Secret.'),
      name: objectName('Name of the Secret.'),
      key: Type.String({
        description: 'Key inside the Secret whose value is used.',
        minLength: 1,
        maxLength: 253,
        pattern: '^[-._a-zA-Z0-9]+$',
      }),
    },
    { description },
  )

export const labelSelector = (description: string) =>
  Type.Object(
    {
      matchLabels: Type.Optional(
        Type.Unsafe<Record<string, string>>({
          type: 'object',
          description: 'Labels that must all match exactly.',
          additionalProperties: { type: 'string', maxLength: 63 },
          maxProperties: 32,
        }),
      ),
      matchExpressions: Type.Optional(
        list(
          Type.Object(
            {
              key: Type.String({
                description: 'Label key the expression applies to.',
                maxLength: 317,
                minLength: 1,
              }),
              operator: enumOf(
                ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const,
                'How the key relates to values.',
              ),
              values: Type.Optional(
                list(Type.String({ maxLength: 63 }), 'Values for In and NotIn; empty for Exists.', 64),
              ),
            },
            { description: 'A requirement on one label.' },
          ),
          'Set-based requirements, all of which must match.',
          16,
        ),
      ),
    },
    {
      description,
      ...rules({
        rule: 'has(self.matchLabels) || has(self.matchExpressions)',
        message: 'a selector needs matchLabels or matchExpressions',
      }),
    },
  )

/** Condition is metav1.Condition, the shape `kubectl wait --for=condition=` reads. */
export const condition = Type.Object(
  {
    type: Type.String({ description: 'Kind of condition, e.g. Ready.', maxLength: 316, minLength: 1 }),
    status: enumOf(['True', 'False', 'Unknown'] as const, 'Whether the condition holds.'),
    observedGeneration: Type.Optional(
      Type.Integer({
        description: 'Generation the condition was computed from.',
        minimum: 0,
        format: 'int64',
      }),
    ),
    lastTransitionTime: Type.String({ description: 'When status last changed.', format: 'date-time' }),
    reason: Type.String({ description: 'One CamelCase word for the cause.', maxLength: 1024, minLength: 1 }),
    message: Type.String({ description: 'What a person should know.', maxLength: 32768 }),
  },
  { description: 'A condition of the resource.' },
)

export const conditions = list(condition, 'Current state, one entry per condition type.', 16, {
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
})

/** observedGeneration is the status field that says which spec generation the status describes. */
export const observedGeneration = Type.Integer({
  description: 'Generation of the spec this status describes.',
  minimum: 0,
  format: 'int64',
})
