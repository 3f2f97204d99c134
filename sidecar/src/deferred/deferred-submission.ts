import type { RequestContext } from '../context.ts'
import { jsonPaths } from '../json/json-field-reader.ts'
import { USAGE_PATHS } from '../usage/usage-accumulator.ts'

/**
 * isDeferredSubmission: the call submits work the provider runs (and bills) after the answer: a
 * governed batch, or a background Response that does not stream (one that streams reports its
 * usage in its final event, like any call).
 */
export const isDeferredSubmission = (ctx: RequestContext): boolean =>
  ctx.endpoint?.kind === 'model' &&
  (ctx.endpoint.batch === true ||
    (ctx.endpoint.background === true && ctx.json?.background === true && !ctx.stream))

/** SUBMISSION_FIELDS add the top-level `id` the provider gives the submitted work to the usage paths. */
export const SUBMISSION_FIELDS = jsonPaths([...USAGE_PATHS, 'id'])
