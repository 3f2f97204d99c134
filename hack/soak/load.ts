// The soak's load: steady, mixed calls through each sidecar with the official SDKs, every call
// under a deadline, each outcome judged against what the tenant's failureMode promises.
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import type { SoakSidecar } from './system.ts'
import type { SoakProvider } from './tenants.ts'

/** CALL_DEADLINE_MS bounds every call; one that takes longer is a hang, and a failure. */
export const CALL_DEADLINE_MS = 20_000

type Kind = 'openai' | 'openai-stream' | 'anthropic' | 'anthropic-stream' | 'cached' | 'abort' | 'limited'
const KINDS: Kind[] = [
  'openai',
  'openai-stream',
  'anthropic',
  'cached',
  'anthropic-stream',
  'abort',
  'limited',
]
const PROVIDER: Record<Kind, SoakProvider> = {
  openai: 'openai',
  'openai-stream': 'openai',
  cached: 'openai',
  anthropic: 'anthropic',
  'anthropic-stream': 'anthropic',
  abort: 'aborts',
  limited: 'limited',
}

/** Outcome is how one call ended, as the client saw it. */
export type Outcome =
  | 'ok' // answered by the provider
  | 'cache-hit' // answered by the sidecar's cache
  | 'aborted' // the client went away mid-stream, as planned
  | 'rejected' // 429 of the rate limit the load runs into on purpose
  | 'refused' // 503 TOLLGATE_ERR_LIMITER_UNAVAILABLE of a budget failing closed while Redis is away
  | 'failed' // anything the tenant's failureMode does not promise
  | 'hung' // no answer within CALL_DEADLINE_MS

export interface CallRecord {
  tenant: string
  provider: SoakProvider
  kind: Kind
  outcome: Outcome
  startMs: number
  endMs: number
  detail?: string
}

/** LoadTally keeps counts per tenant and provider, and the calls that failed. */
export class LoadTally {
  readonly counts = new Map<string, Map<Outcome, number>>()
  readonly failures: CallRecord[] = []
  /** Start of the latest call that ended ok, per tenant (recovery probes). */
  readonly lastOk = new Map<string, number>()

  add(r: CallRecord): void {
    const id = `${r.tenant}|${r.provider}`
    let m = this.counts.get(id)
    if (!m) {
      m = new Map()
      this.counts.set(id, m)
    }
    m.set(r.outcome, (m.get(r.outcome) ?? 0) + 1)
    if (r.outcome === 'failed' || r.outcome === 'hung') this.failures.push(r)
    if (r.outcome === 'ok' || r.outcome === 'cache-hit')
      this.lastOk.set(r.tenant, Math.max(this.lastOk.get(r.tenant) ?? 0, r.startMs))
  }

  calls(tenant: string, provider: SoakProvider): Map<Outcome, number> {
    return this.counts.get(`${tenant}|${provider}`) ?? new Map()
  }

  get total(): number {
    let n = 0
    for (const m of this.counts.values()) for (const v of m.values()) n += v
    return n
  }
}

interface ErrorLike {
  status?: number
  headers?: Headers | Record<string, string>
  message?: string
  name?: string
}

const header = (error: ErrorLike, name: string): string | undefined => {
  const h = error.headers
  if (!h) return undefined
  return h instanceof Headers ? (h.get(name) ?? undefined) : h[name]
}

/**
 * judge maps an error to an outcome: a 429 is expected of the `limited` provider only; a 503
 * TOLLGATE_ERR_LIMITER_UNAVAILABLE only of a tenant with a budget (budgets fail closed); anything
 * else is a failure.
 */
function judge(error: ErrorLike, kind: Kind, budget: boolean): { outcome: Outcome; detail?: string } {
  const code = header(error, 'x-tollgate-error-code')
  if (error.status === 429 && kind === 'limited' && code === 'TOLLGATE_ERR_QUOTA_EXCEEDED')
    return { outcome: 'rejected' }
  if (error.status === 503 && budget && code === 'TOLLGATE_ERR_LIMITER_UNAVAILABLE')
    return { outcome: 'refused' }
  return {
    outcome: 'failed',
    detail: `${error.status ?? error.name} ${code ?? ''} ${error.message ?? ''}`.trim(),
  }
}

/** Caller makes one call of a kind through one sidecar. */
class Caller {
  readonly #sidecar: SoakSidecar
  readonly #openai: OpenAI
  readonly #anthropic: Anthropic
  #n = 0

  constructor(sidecar: SoakSidecar) {
    this.#sidecar = sidecar
    // SDK retries off: every call the client makes reaches the sidecar exactly once.
    const common = { apiKey: 'placeholder', maxRetries: 0, timeout: CALL_DEADLINE_MS }
    this.#openai = new OpenAI({ ...common, baseURL: `${sidecar.proxyUrl}/openai/v1` })
    this.#anthropic = new Anthropic({ ...common, baseURL: `${sidecar.proxyUrl}/anthropic` })
  }

  openaiFor(provider: SoakProvider): OpenAI {
    return provider === 'openai'
      ? this.#openai
      : this.#openai.withOptions({ baseURL: `${this.#sidecar.proxyUrl}/${provider}/v1` })
  }

  async call(kind: Kind, signal: AbortSignal, abort: () => void): Promise<Outcome> {
    const content =
      kind === 'cached' ? 'soak: the same question every time' : `soak ${this.#n++} ${Math.random()}`
    const messages = [{ role: 'user' as const, content }]
    const options = { signal }
    switch (kind) {
      case 'openai':
      case 'cached':
      case 'limited': {
        const { response } = await this.openaiFor(PROVIDER[kind])
          .chat.completions.create({ model: 'gpt-4o-mini', messages, max_completion_tokens: 32 }, options)
          .withResponse()
        return response.headers.get('x-tollgate-cache') === 'hit' ? 'cache-hit' : 'ok'
      }
      case 'openai-stream': {
        const stream = await this.#openai.chat.completions.create(
          { model: 'gpt-4o-mini', messages, max_completion_tokens: 32, stream: true },
          options,
        )
        for await (const _ of stream);
        return 'ok'
      }
      case 'abort': {
        const stream = await this.openaiFor('aborts').chat.completions.create(
          { model: 'gpt-4o-mini', messages, max_completion_tokens: 32, stream: true },
          { ...options, headers: { 'x-fake-chunk-delay-ms': '40' } },
        )
        for await (const chunk of stream) {
          if (chunk.choices[0]?.delta.content) {
            abort()
            return 'aborted'
          }
        }
        return 'ok'
      }
      case 'anthropic': {
        await this.#anthropic.messages.create(
          { model: 'claude-3-5-haiku-latest', max_tokens: 32, messages },
          options,
        )
        return 'ok'
      }
      case 'anthropic-stream': {
        const stream = await this.#anthropic.messages.create(
          { model: 'claude-3-5-haiku-latest', max_tokens: 32, messages, stream: true },
          options,
        )
        for await (const _ of stream);
        return 'ok'
      }
    }
  }
}

/**
 * runLoad drives `workers` loops per sidecar until stop is aborted, pausing pauseMs between
 * calls, and records every call in tally. It resolves once every call in flight has ended.
 */
export async function runLoad(options: {
  sidecars: SoakSidecar[]
  workers: number
  pauseMs: number
  tally: LoadTally
  stop: AbortSignal
}): Promise<void> {
  const { sidecars, workers, pauseMs, tally, stop } = options
  const loop = async (sidecar: SoakSidecar, offset: number) => {
    const caller = new Caller(sidecar)
    for (let i = offset; !stop.aborted; i++) {
      const kind = KINDS[i % KINDS.length] as Kind
      const controller = new AbortController()
      let aborted = false
      const deadline = setTimeout(() => controller.abort(new Error('deadline')), CALL_DEADLINE_MS + 1000)
      const startMs = Date.now()
      let outcome: Outcome
      let detail: string | undefined
      try {
        outcome = await caller.call(kind, controller.signal, () => {
          aborted = true
          controller.abort()
        })
      } catch (error) {
        const e = error as ErrorLike
        if (aborted) outcome = 'aborted'
        else if (controller.signal.aborted || e.name === 'APIConnectionTimeoutError') {
          outcome = 'hung'
          detail = `no answer within ${CALL_DEADLINE_MS} ms`
        } else ({ outcome, detail } = judge(e, kind, sidecar.tenant.budget))
      } finally {
        clearTimeout(deadline)
      }
      const record: CallRecord = {
        tenant: sidecar.tenant.name,
        provider: PROVIDER[kind],
        kind,
        outcome,
        startMs,
        endMs: Date.now(),
        ...(detail && { detail }),
      }
      tally.add(record)
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs))
    }
  }
  await Promise.all(sidecars.flatMap((s) => Array.from({ length: workers }, (_, w) => loop(s, w * 2))))
}
