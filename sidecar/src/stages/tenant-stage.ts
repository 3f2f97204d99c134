import { TollgateError } from '../errors.ts'
import type { Stage } from '../stage.ts'

/**
 * tenantStage applies the tenant's own rules: a suspended tenant gets 403 for every call; a call
 * to a model endpoint must name a model (400) that the tenant's allow/deny globs admit (403).
 */
export const tenantStage = (): Stage => (next) =>
  async function tenantStage(ctx) {
    const config = ctx.config
    if (!config) throw new Error('tenantStage runs after routeStage')
    if (config.compiled.suspended) {
      throw new TollgateError(
        'TOLLGATE_ERR_TENANT_SUSPENDED',
        `tenant ${config.compiled.tenant} is suspended`,
      )
    }
    const model = ctx.model
    if (model === undefined) {
      if (ctx.endpoint?.requiresModel) {
        throw new TollgateError('TOLLGATE_ERR_MODEL_REQUIRED', 'the request body must name a model', {
          param: 'model',
        })
      }
    } else if (!config.modelAllowed(model)) {
      throw new TollgateError(
        'TOLLGATE_ERR_MODEL_NOT_ALLOWED',
        `model ${model} is not allowed for tenant ${config.compiled.tenant}`,
        { param: 'model' },
      )
    }
    await next(ctx)
  }
