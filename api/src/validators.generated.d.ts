// Generated from api/src by `npm run crds`. Do not edit.
import type { ErrorObject } from 'ajv'

type Validate = ((doc: unknown) => boolean) & { errors?: ErrorObject[] | null }
export declare const Tenant: Validate
export declare const RateLimitPolicy: Validate
export declare const schemas: { Tenant: Record<string, unknown>; RateLimitPolicy: Record<string, unknown> }
