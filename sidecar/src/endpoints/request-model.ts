import type { FormFields } from '../body/form-fields.ts'
import { TollgateError } from '../errors.ts'
import type { Endpoint } from './endpoint.ts'

/** DEFAULT_MODELS are what the APIs use when a request names none. */
const DEFAULT_MODELS: Record<string, string> = {
  'images.generations': 'dall-e-2',
  'images.edits': 'dall-e-2',
  'images.variations': 'dall-e-2',
  moderations: 'omni-moderation-latest',
}

/**
 * requestModel is the model a call is for: `model` of the JSON body or of the form, the API's
 * default for endpoints that have one, for an OpenAI batch the model of its input file, and for
 * an Anthropic message batch the one model all its
 * requests name (a governed batch is priced and limited as one call of one model, so a batch
 * mixing models is refused: split it by model). Non-string values are no model.
 */
export function requestModel(
  endpoint: Endpoint,
  json: Record<string, unknown> | undefined,
  form: FormFields | undefined,
  batchModel?: string,
): string | undefined | TollgateError {
  if (endpoint.estimate === 'openai-batch') return batchModel
  if (endpoint.estimate === 'anthropic-batch') {
    const requests = Array.isArray(json?.requests) ? json.requests : []
    const models = new Set(
      requests
        .map((r) => (r as { params?: { model?: unknown } } | null)?.params?.model)
        .filter((m) => typeof m === 'string'),
    )
    if (models.size > 1) {
      return new TollgateError(
        'TOLLGATE_ERR_INVALID_MODEL',
        `the requests of a governed batch must name one model; this one names ${models.size}: split it by model`,
        { param: 'requests' },
      )
    }
    return models.values().next().value as string | undefined
  }
  const named = endpoint.body === 'form' ? form?.fields.model : json?.model
  if (typeof named === 'string' && named !== '') return named
  return DEFAULT_MODELS[endpoint.name]
}
