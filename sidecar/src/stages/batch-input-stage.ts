import type { Dispatcher } from 'undici'
import type { RequestContext } from '../context.ts'
import { TollgateError } from '../errors.ts'
import { JsonFieldReader } from '../json/json-field-reader.ts'
import type { CallEstimate } from '../limits/call-estimate.ts'
import { estimateTokens } from '../limits/estimate.ts'
import type { Stage } from '../stage.ts'
import type { UpstreamPools } from '../upstream/pools.ts'
import { failureOf, upstreamError } from '../upstream/upstream-errors.ts'
import { emptyUsage } from '../usage/usage.ts'
import { JSON_LIMITS } from './body-stage.ts'

const FILE_ID = /^[A-Za-z0-9_-]{1,128}$/

const unreadable = (message: string, cause?: unknown) =>
  new TollgateError(
    'TOLLGATE_ERR_BATCH_INPUT_UNREADABLE',
    `the batch's input file cannot be estimated: ${message}`,
    {
      param: 'input_file_id',
      ...(cause !== undefined && { cause }),
    },
  )

/**
 * batchInputStage reads the input file of an OpenAI batch being submitted (governed batches
 * only: the resolver refuses them otherwise) from the provider with the sidecar's key, and
 * estimates it as the sum of its requests, each as its own endpoint estimates it (chat, Responses,
 * completions, embeddings). The file names one model, as OpenAI requires; the batch is then
 * limited, priced (at the batch price) and counted as one call of that model. The file streams
 * through line by line: each line is held to the JSON limits of a request body and to the body
 * size limit, never the whole file.
 */
export const batchInputStage =
  (pools: UpstreamPools, maxLineBytes: number): Stage =>
  (next) =>
    async function batchInputStage(ctx) {
      if (ctx.endpoint?.estimate !== 'openai-batch') return next(ctx)
      const id = ctx.json?.input_file_id
      if (typeof id !== 'string' || !FILE_ID.test(id)) throw unreadable('input_file_id must name a file')
      const { model, estimate } = await readBatchInput(pools, ctx, id, maxLineBytes)
      ctx.batchModel = model
      ctx.estimated = estimate
      await next(ctx)
    }

/** BatchTally sums the requests of an input file as its lines go past. */
class BatchTally {
  readonly models = new Set<string>()
  readonly usage = emptyUsage()
  bounded = true
  lines = 0

  add(line: Buffer): void {
    if (line.length === 0 || (line.length === 1 && line[0] === 0x0d)) return
    const limits = new JsonFieldReader([], 0, JSON_LIMITS)
    limits.write(line)
    if (limits.exceeded)
      throw unreadable(`line ${this.lines + 1} passes the JSON limits (${limits.exceeded})`)
    let request: { url?: unknown; body?: { model?: unknown } }
    try {
      request = JSON.parse(line.toString('utf8'))
    } catch (cause) {
      throw unreadable(`line ${this.lines + 1} is not JSON`, cause)
    }
    this.lines++
    const url = typeof request?.url === 'string' ? request.url : ''
    if (typeof request?.body?.model === 'string') this.models.add(request.body.model)
    const e = estimateTokens('openai', url, request?.body)
    this.usage.inputTokens += e.promptTokens
    this.usage.outputTokens += e.maxOutputTokens
    this.bounded &&= e.outputBounded
  }
}

function readBatchInput(
  pools: UpstreamPools,
  ctx: RequestContext,
  id: string,
  maxLineBytes: number,
): Promise<{ model: string | undefined; estimate: CallEstimate }> {
  const provider = ctx.provider
  const config = ctx.config
  if (!provider || !config) return Promise.reject(new Error('batchInputStage runs after routeStage'))
  const key = config.credentials.get(provider.name)
  const timeouts = config.compiled.timeouts
  const tally = new BatchTally()
  let carry: Buffer[] = []
  let carried = 0
  const take = (chunk: Buffer) => {
    let start = 0
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl)
      tally.add(carried > 0 ? Buffer.concat([...carry, piece]) : piece)
      carry = []
      carried = 0
      start = nl + 1
    }
    if (start < chunk.length) {
      carried += chunk.length - start
      if (carried > maxLineBytes) throw unreadable(`a line is longer than ${maxLineBytes} bytes`)
      carry.push(chunk.subarray(start))
    }
  }
  return new Promise((resolve, reject) => {
    let status = 0
    let failed = false
    const fail = (error: unknown, controller?: Dispatcher.DispatchController) => {
      if (failed) return
      failed = true
      controller?.abort(error as Error)
      reject(error)
    }
    pools.get(provider.origin, timeouts.connectMs).dispatch(
      {
        path: `${provider.basePath}/v1/files/${id}/content`,
        method: 'GET',
        headers: {
          ...(key !== undefined && { authorization: `Bearer ${key}` }),
          'accept-encoding': 'identity',
        },
        headersTimeout: timeouts.firstByteMs,
        bodyTimeout: timeouts.streamIdleMs,
      },
      {
        onRequestStart() {},
        onResponseStart(_controller, statusCode) {
          status = statusCode
        },
        onResponseData(controller, chunk: Buffer) {
          if (failed || status !== 200) return
          try {
            take(chunk)
          } catch (error) {
            fail(error, controller)
          }
        },
        onResponseEnd() {
          if (failed) return
          if (status !== 200) return fail(unreadable(`the provider answered ${status} for file ${id}`))
          try {
            if (carried > 0) tally.add(Buffer.concat(carry))
          } catch (error) {
            return fail(error)
          }
          if (tally.models.size > 1)
            return fail(unreadable(`its requests name ${tally.models.size} models; a batch names one`))
          resolve({
            model: tally.models.values().next().value,
            estimate: {
              tokens: tally.usage.inputTokens + tally.usage.outputTokens,
              usage: tally.usage,
              outputBounded: tally.bounded,
              batch: true,
            },
          })
        },
        onResponseError(_controller, error) {
          fail(upstreamError(failureOf(error), provider.name, provider.origin, error))
        },
      },
    )
  })
}
