import type { Price, PriceFamily } from './compiled-config.ts'

/**
 * PriceRow is a price as people write it: USD as decimal strings, per million tokens unless the
 * field says otherwise. Only `inputPerMTok` and `outputPerMTok` are required; every other token
 * class defaults to the text rate of its side (cache writes of an Anthropic row to 1.25x and 2x
 * input, as Anthropic bills them).
 */
export interface PriceRow {
  /** Model name or glob; the most specific match wins. */
  model: string
  /** Whose API the model is served by; a row without one applies to every provider. */
  provider?: PriceFamily
  inputPerMTok: string
  outputPerMTok: string
  /** Cache reads (OpenAI cached input, Anthropic cache_read_input_tokens). */
  cachedInputPerMTok?: string
  /**
   * Cache writes: Anthropic's 5-minute cache (default 1.25x input) and OpenAI's
   * `cache_write_tokens` (default the input rate; GPT-5.6 bills them at 1.25x).
   */
  cacheWrite5mPerMTok?: string
  /** Anthropic cache writes to the 1-hour cache (default 2x input). */
  cacheWrite1hPerMTok?: string
  /** Audio tokens (OpenAI audio and realtime models, gpt-4o transcription and speech). */
  audioInputPerMTok?: string
  audioOutputPerMTok?: string
  /** Image tokens (gpt-image models). */
  imageInputPerMTok?: string
  cachedImageInputPerMTok?: string
  imageOutputPerMTok?: string
  /** USD per image by `<quality>:<size>` or `<size>` (DALL·E). */
  perImage?: Record<string, string>
  /** USD per minute of input audio, billed by the second (whisper-1). */
  perMinute?: string
  /** USD per million characters of input text (tts-1). */
  perMCharacters?: string
  /** USD per search of the provider's web search tool (Anthropic rows default to $0.01). */
  perWebSearch?: string
  /** Factor on every token of a call pinned to one region (Anthropic rows default to 1.1). */
  dataResidencyFactor?: string
  /**
   * Higher rates of the whole call once its input (cache reads and writes included) passes
   * `aboveInputTokens`: Claude Sonnet 4 and 4.5 over 200K, Claude Haiku 5.5 over 100K, GPT-5.4
   * and GPT-5.6 over 272K. A call of exactly `aboveInputTokens` is billed at the base rates.
   */
  longContext?: {
    aboveInputTokens: number
    inputPerMTok: string
    outputPerMTok: string
    cachedInputPerMTok?: string
    cacheWrite5mPerMTok?: string
    cacheWrite1hPerMTok?: string
  }
}

/**
 * BATCH_DISCOUNT is what both providers charge for a batch call, as a fraction of the list price
 * (the Batch API and the Message Batches API are both billed at 50%).
 */
export const BATCH_DISCOUNT = 0.5

const o = (
  model: string,
  input: string,
  cached: string | undefined,
  output: string,
  extra: Partial<PriceRow> = {},
) =>
  ({
    model,
    provider: 'openai',
    inputPerMTok: input,
    ...(cached !== undefined && { cachedInputPerMTok: cached }),
    outputPerMTok: output,
    ...extra,
  }) satisfies PriceRow

const a = (
  model: string,
  input: string,
  write5m: string,
  write1h: string,
  read: string,
  output: string,
  extra: Partial<PriceRow> = {},
) =>
  ({
    model,
    provider: 'anthropic',
    inputPerMTok: input,
    cacheWrite5mPerMTok: write5m,
    cacheWrite1hPerMTok: write1h,
    cachedInputPerMTok: read,
    outputPerMTok: output,
    ...extra,
  }) satisfies PriceRow

/** Claude Sonnet 4 and 4.5 bill a call whose input passes 200K tokens (1M context) at these rates. */
const SONNET_LONG_CONTEXT = {
  aboveInputTokens: 200_000,
  inputPerMTok: '6',
  cacheWrite5mPerMTok: '7.5',
  cacheWrite1hPerMTok: '12',
  cachedInputPerMTok: '0.6',
  outputPerMTok: '22.5',
}

/**
 * OPENAI_ABOVE_INPUT_TOKENS: OpenAI's GPT-5.6 model pages bill "prompts with >272K input tokens"
 * at 2x input and 1.5x output for the full request (GPT-5.4 likewise, as resellers copy its
 * page). Cache reads and writes are input and double with it: an upper bound where no page says.
 */
const OPENAI_ABOVE_INPUT_TOKENS = 272_000

/**
 * DEFAULT_PRICES are the providers' list prices, standard tier, without the batch discount
 * (applied per call). Rows up to GPT-5.2 and Claude 4.5 were taken from the OpenAI and Anthropic
 * pricing pages in December 2025; every newer family was read on 2026-12-01 and names its source
 * above its rows. Globs cover dated snapshots (`gpt-4o-2024-08-06`); rows are written so that no
 * glob prices a model of another price by accident (`gpt-5.1-mini` is not `gpt-5.1*`, and no
 * `claude-fable-5*` glob reaches `claude-fable-5-2`). Models the SDKs name whose price no
 * official page gave are in UNPRICED_SDK_MODELS instead; a tenant prices them in `spec.pricing`
 * or lets `spec.unpricedModels: estimate` charge them the highest rates.
 * The operator can load another table from a mounted file; a Tenant can override single rows.
 */
export const DEFAULT_PRICES: PriceRow[] = [
  // OpenAI GPT-5.6, read 2026-12-01: https://developers.openai.com/api/docs/models/gpt-5.6-luna
  // (Luna; Terra's input in its comparison) and .../ja-JP/api/docs/models/gpt-5.6-sol (Sol). Both
  // pages: >272K input at 2x input and 1.5x output for the full request; cache writes at 1.25x
  // uncached input. Sol's page shows a promotion ($4 / $0.40 / $20, "a 20% cut in input and 33%
  // in output") promised only until 2026-11-21; the row keeps the list price it was cut from
  // ($5 / $0.50 / $30) so a lapsed promotion never prices Sol below its bill. Terra's own page was
  // not found: its cached and output rates ($0.20 / $12, cut on 2026-07-30) are cross-checked on
  // OpenRouter and Vercel, and it takes the family's 272K band and 1.25x cache writes.
  o('gpt-5.6-sol', '5', '0.5', '30', {
    cacheWrite5mPerMTok: '6.25',
    longContext: {
      aboveInputTokens: OPENAI_ABOVE_INPUT_TOKENS,
      inputPerMTok: '10',
      cachedInputPerMTok: '1',
      cacheWrite5mPerMTok: '12.5',
      outputPerMTok: '45',
    },
  }),
  o('gpt-5.6-terra', '2', '0.2', '12', {
    cacheWrite5mPerMTok: '2.5',
    longContext: {
      aboveInputTokens: OPENAI_ABOVE_INPUT_TOKENS,
      inputPerMTok: '4',
      cachedInputPerMTok: '0.4',
      cacheWrite5mPerMTok: '5',
      outputPerMTok: '18',
    },
  }),
  o('gpt-5.6-luna', '0.2', '0.02', '1.2', {
    cacheWrite5mPerMTok: '0.25',
    longContext: {
      aboveInputTokens: OPENAI_ABOVE_INPUT_TOKENS,
      inputPerMTok: '0.4',
      cachedInputPerMTok: '0.04',
      cacheWrite5mPerMTok: '0.5',
      outputPerMTok: '1.8',
    },
  }),
  // OpenAI GPT-5.4, read 2026-12-01: .../ja-JP/api/docs/models/gpt-5.4-nano (nano, 400K context,
  // at most 272K input: no long-context band); GPT-5.4's $2.50 and 5.4 mini's $0.75 input from
  // the comparisons of the gpt-5.6-sol and gpt-5-nano pages, their cached and output rates and
  // GPT-5.4's >272K band ($5 / $0.50 / $22.50) cross-checked on WaveSpeed, Vercel and Venice.
  o('gpt-5.4', '2.5', '0.25', '15', {
    longContext: {
      aboveInputTokens: OPENAI_ABOVE_INPUT_TOKENS,
      inputPerMTok: '5',
      cachedInputPerMTok: '0.5',
      outputPerMTok: '22.5',
    },
  }),
  o('gpt-5.4-mini*', '0.75', '0.075', '4.5'),
  o('gpt-5.4-nano*', '0.2', '0.02', '1.25'),
  // read 2026-12-01: .../ja-JP/api/docs/models/gpt-5.3-chat-latest (deprecated there)
  o('gpt-5.3-chat-latest', '1.75', '0.175', '14'),
  // OpenAI GPT-5 family
  o('gpt-5.2', '1.75', '0.175', '14'),
  o('gpt-5.2-2*', '1.75', '0.175', '14'),
  o('gpt-5.2-chat-latest', '1.75', '0.175', '14'),
  o('gpt-5.2-pro*', '21', undefined, '168'),
  o('gpt-5.1', '1.25', '0.125', '10'),
  o('gpt-5.1-2*', '1.25', '0.125', '10'),
  o('gpt-5.1-chat-latest', '1.25', '0.125', '10'),
  o('gpt-5.1-codex', '1.25', '0.125', '10'),
  o('gpt-5.1-codex-max*', '1.25', '0.125', '10'),
  o('gpt-5.1-codex-mini*', '0.25', '0.025', '2'),
  o('gpt-5', '1.25', '0.125', '10'),
  o('gpt-5-2*', '1.25', '0.125', '10'),
  o('gpt-5-chat-latest', '1.25', '0.125', '10'),
  o('gpt-5-codex', '1.25', '0.125', '10'),
  o('gpt-5-pro*', '15', undefined, '120'),
  o('gpt-5-mini*', '0.25', '0.025', '2'),
  o('gpt-5-nano*', '0.05', '0.005', '0.4'),
  // GPT-4.1, GPT-4o
  o('gpt-4.1*', '2', '0.5', '8'),
  o('gpt-4.1-mini*', '0.4', '0.1', '1.6'),
  o('gpt-4.1-nano*', '0.1', '0.025', '0.4'),
  o('gpt-4o', '2.5', '1.25', '10'),
  o('gpt-4o-2024-08-06', '2.5', '1.25', '10'),
  o('gpt-4o-2024-11-20', '2.5', '1.25', '10'),
  o('gpt-4o-2024-05-13', '5', undefined, '15'),
  o('gpt-4o-mini', '0.15', '0.075', '0.6'),
  o('gpt-4o-mini-2*', '0.15', '0.075', '0.6'),
  o('chatgpt-4o-latest', '5', undefined, '15'),
  o('gpt-4o-search-preview*', '2.5', undefined, '10'),
  o('gpt-4o-mini-search-preview*', '0.15', undefined, '0.6'),
  o('gpt-4o-audio-preview*', '2.5', undefined, '10', { audioInputPerMTok: '40', audioOutputPerMTok: '80' }),
  o('gpt-4o-audio-preview-2024-10-01', '2.5', undefined, '10', {
    audioInputPerMTok: '100',
    audioOutputPerMTok: '200',
  }),
  o('gpt-4o-mini-audio-preview*', '0.15', undefined, '0.6', {
    audioInputPerMTok: '10',
    audioOutputPerMTok: '20',
  }),
  // reasoning models
  o('o4-mini*', '1.1', '0.275', '4.4'),
  o('o4-mini-deep-research*', '2', '0.5', '8'),
  o('o3', '2', '0.5', '8'),
  o('o3-2*', '2', '0.5', '8'),
  o('o3-mini*', '1.1', '0.55', '4.4'),
  o('o3-pro*', '20', undefined, '80'),
  o('o3-deep-research*', '10', '2.5', '40'),
  o('o1', '15', '7.5', '60'),
  o('o1-2*', '15', '7.5', '60'),
  o('o1-preview*', '15', '7.5', '60'),
  o('o1-mini*', '1.1', '0.55', '4.4'),
  o('o1-pro*', '150', undefined, '600'),
  o('codex-mini-latest', '1.5', '0.375', '6'),
  o('computer-use-preview*', '3', undefined, '12'),
  // older chat models
  o('gpt-4-turbo*', '10', undefined, '30'),
  o('gpt-4-0125-preview', '10', undefined, '30'),
  o('gpt-4-1106-preview', '10', undefined, '30'),
  o('gpt-4-vision-preview', '10', undefined, '30'),
  o('gpt-4', '30', undefined, '60'),
  o('gpt-4-0314', '30', undefined, '60'),
  o('gpt-4-0613', '30', undefined, '60'),
  o('gpt-4-32k*', '60', undefined, '120'),
  o('gpt-3.5-turbo', '0.5', undefined, '1.5'),
  o('gpt-3.5-turbo-0125', '0.5', undefined, '1.5'),
  o('gpt-3.5-turbo-1106', '1', undefined, '2'),
  o('gpt-3.5-turbo-0613', '1.5', undefined, '2'),
  o('gpt-3.5-turbo-0301', '1.5', undefined, '2'),
  o('gpt-3.5-turbo-16k*', '3', undefined, '4'),
  o('gpt-3.5-turbo-instruct*', '1.5', undefined, '2'),
  // embeddings and moderation (free)
  o('text-embedding-3-small', '0.02', undefined, '0'),
  o('text-embedding-3-large', '0.13', undefined, '0'),
  o('text-embedding-ada-002', '0.1', undefined, '0'),
  o('omni-moderation-*', '0', undefined, '0'),
  o('text-moderation-*', '0', undefined, '0'),
  // images
  o('dall-e-3', '0', undefined, '0', {
    perImage: {
      'standard:1024x1024': '0.04',
      'standard:1024x1792': '0.08',
      'standard:1792x1024': '0.08',
      'hd:1024x1024': '0.08',
      'hd:1024x1792': '0.12',
      'hd:1792x1024': '0.12',
    },
  }),
  o('dall-e-2', '0', undefined, '0', {
    perImage: { '1024x1024': '0.02', '512x512': '0.018', '256x256': '0.016' },
  }),
  o('gpt-image-1', '5', '1.25', '40', {
    imageInputPerMTok: '10',
    cachedImageInputPerMTok: '2.5',
    imageOutputPerMTok: '40',
  }),
  o('gpt-image-1-mini', '2', '0.2', '8', {
    imageInputPerMTok: '2.5',
    cachedImageInputPerMTok: '0.25',
    imageOutputPerMTok: '8',
  }),
  // audio
  o('whisper-1', '0', undefined, '0', { perMinute: '0.006' }),
  o('tts-1', '0', undefined, '0', { perMCharacters: '15' }),
  o('tts-1-hd', '0', undefined, '0', { perMCharacters: '30' }),
  o('gpt-4o-mini-tts*', '0.6', undefined, '0', { audioOutputPerMTok: '12' }),
  o('gpt-4o-transcribe', '2.5', undefined, '10', { audioInputPerMTok: '6' }),
  o('gpt-4o-mini-transcribe*', '1.25', undefined, '5', { audioInputPerMTok: '3' }),
  // read 2026-12-01: https://developers.openai.com/api/docs/models/gpt-4o-transcribe-diarize.md
  // (audio tokens $2.50 in, $10 out)
  o('gpt-4o-transcribe-diarize', '2.5', undefined, '10'),
  // Anthropic: input, 5-minute cache write, 1-hour cache write, cache read, output.
  // Claude 4.6 to 5.5, read 2026-12-01: the model table of
  // https://platform.claude.com/docs/en/about-claude/pricing (Fable and Mythos 5 and 5.1, Opus 5,
  // 4.8, 4.7, 4.6) and the model pages https://platform.claude.com/docs/zh-CN/models/<model>/overview
  // (opus-5-5, sonnet-5, sonnet-5-5, haiku-5-5, sonnet-4-6). These models have no dated
  // snapshots, so their rows are exact names. The 1M context of Sonnet 4.6 and later is billed at
  // the standard rates (no long-context band); Haiku 5.5 is the exception below.
  a('claude-fable-5-1', '10', '12.5', '20', '0.25', '50'),
  a('claude-mythos-5-1', '10', '12.5', '20', '0.25', '50'),
  a('claude-fable-5', '10', '12.5', '20', '1', '50'),
  a('claude-mythos-5', '10', '12.5', '20', '1', '50'),
  a('claude-opus-5-5', '4', '5', '8', '0.2', '20'),
  a('claude-opus-5', '5', '6.25', '10', '0.5', '25'),
  a('claude-opus-4-8', '5', '6.25', '10', '0.5', '25'),
  a('claude-opus-4-7', '5', '6.25', '10', '0.5', '25'),
  a('claude-opus-4-6', '5', '6.25', '10', '0.5', '25'),
  // Sonnet 5.5 cache reads were cut from $0.20 to $0.10 on 2026-10-07 (the stored copy of its
  // model page predates the cut and still says $0.20).
  a('claude-sonnet-5-5', '2', '2.5', '4', '0.1', '10'),
  a('claude-sonnet-5', '2', '2.5', '4', '0.2', '10'),
  a('claude-sonnet-4-6', '3', '3.75', '6', '0.3', '15'),
  // Haiku 5.5: "for prompts up to 100,000 tokens" / "over 100,000 tokens", the prompt counting
  // cache reads and writes, the higher rates on the whole request.
  a('claude-haiku-5-5', '0.1', '0.125', '0.2', '0.01', '0.5', {
    longContext: {
      aboveInputTokens: 100_000,
      inputPerMTok: '0.5',
      cacheWrite5mPerMTok: '0.625',
      cacheWrite1hPerMTok: '1',
      cachedInputPerMTok: '0.05',
      outputPerMTok: '2.5',
    },
  }),
  // Claude 4.5 and older, December 2025
  a('claude-opus-4-5*', '5', '6.25', '10', '0.5', '25'),
  a('claude-opus-4-1*', '15', '18.75', '30', '1.5', '75'),
  a('claude-opus-4-0', '15', '18.75', '30', '1.5', '75'),
  a('claude-opus-4-2*', '15', '18.75', '30', '1.5', '75'),
  a('claude-sonnet-4-5*', '3', '3.75', '6', '0.3', '15', { longContext: SONNET_LONG_CONTEXT }),
  a('claude-sonnet-4-0', '3', '3.75', '6', '0.3', '15', { longContext: SONNET_LONG_CONTEXT }),
  a('claude-sonnet-4-2*', '3', '3.75', '6', '0.3', '15', { longContext: SONNET_LONG_CONTEXT }),
  a('claude-haiku-4-5*', '1', '1.25', '2', '0.1', '5'),
  a('claude-3-7-sonnet*', '3', '3.75', '6', '0.3', '15'),
  a('claude-3-5-sonnet*', '3', '3.75', '6', '0.3', '15'),
  a('claude-3-5-haiku*', '0.8', '1', '1.6', '0.08', '4'),
  a('claude-3-opus*', '15', '18.75', '30', '1.5', '75'),
  a('claude-3-haiku*', '0.25', '0.3', '0.5', '0.03', '1.25'),
]

/**
 * UNPRICED_SDK_MODELS are the models the SDKs of the lockfile name whose list price no official
 * page gave when DEFAULT_PRICES was last read (2026-12-01). They are refused under the default
 * `unpricedModels: deny` until a price is added; a test fails when the SDKs name a model that is
 * in neither list, or when a model here gets priced by a glob. Why each is here:
 * - gpt-5.1-mini: no model or pricing page of OpenAI names it;
 * - the GPT Image 1.5 and 2 models: no official page found, and resellers disagree;
 * - Claude Fable and Mythos 5.2 (released 2026-11-09): the official model pages read do not give a
 *   price (resellers quote $8 / $40);
 * - Claude Mythos Preview: only press reports of a partner price ($25 / $125), no official page.
 */
export const UNPRICED_SDK_MODELS: { provider: PriceFamily; model: string }[] = [
  ...['gpt-5.1-mini', 'gpt-image-1.5', 'gpt-image-2', 'gpt-image-2-2026-04-21', 'chatgpt-image-latest'].map(
    (model) => ({ provider: 'openai' as const, model }),
  ),
  ...['claude-fable-5-2', 'claude-mythos-5-2', 'claude-mythos-preview'].map((model) => ({
    provider: 'anthropic' as const,
    model,
  })),
]

/**
 * Anthropic's prices beside the token rates, the same for every model: a web search is $10 per
 * 1,000 searches (web fetches cost only their tokens), and inference pinned to the US
 * (`inference_geo`, Claude Opus 4.6 and later) is 1.1x on every token.
 */
const ANTHROPIC_WEB_SEARCH_USD = '0.01'
const ANTHROPIC_DATA_RESIDENCY_FACTOR = '1.1'

const factor = (value: string) => {
  const n = Number(value)
  if (!Number.isFinite(n) || n < 1 || n > 10) throw new Error(`invalid factor ${JSON.stringify(value)}`)
  return n
}

/** NANO_PER_TOKEN: $1 per million tokens is 1,000 nano-dollars per token. */
const NANO_PER_TOKEN = 1_000
const NANO_PER_USD = 1_000_000_000

const usd = (value: string, scale: number) => {
  const n = Number(value)
  if (!Number.isFinite(n) || n < 0) throw new Error(`invalid price ${JSON.stringify(value)}`)
  return Math.round(n * scale)
}
const perToken = (usdPerMTok: string) => usd(usdPerMTok, NANO_PER_TOKEN)

/**
 * compilePrice turns a row into nano-dollar prices per unit (per token, image, second,
 * character). Unset token classes take the text rate of their side; Anthropic cache writes
 * 1.25x and 2x the input rate.
 */
export function compilePrice(row: PriceRow): Price {
  const input = perToken(row.inputPerMTok)
  const output = perToken(row.outputPerMTok)
  const anthropic = row.provider === 'anthropic'
  const write = (value: string | undefined, factor: number, base: number) =>
    value !== undefined ? perToken(value) : anthropic ? Math.round(base * factor) : base
  const price: Price = {
    model: row.model,
    inputNano: input,
    outputNano: output,
    cachedInputNano: perToken(row.cachedInputPerMTok ?? row.inputPerMTok),
  }
  if (row.provider) price.provider = row.provider
  const cw5 = write(row.cacheWrite5mPerMTok, 1.25, input)
  const cw1h = write(row.cacheWrite1hPerMTok, 2, input)
  if (cw5 !== input) price.cacheWrite5mNano = cw5
  if (cw1h !== input) price.cacheWrite1hNano = cw1h
  if (row.audioInputPerMTok) price.audioInputNano = perToken(row.audioInputPerMTok)
  if (row.audioOutputPerMTok) price.audioOutputNano = perToken(row.audioOutputPerMTok)
  if (row.imageInputPerMTok) price.imageInputNano = perToken(row.imageInputPerMTok)
  if (row.cachedImageInputPerMTok) price.cachedImageInputNano = perToken(row.cachedImageInputPerMTok)
  if (row.imageOutputPerMTok) price.imageOutputNano = perToken(row.imageOutputPerMTok)
  if (row.perImage)
    price.perImageNano = Object.fromEntries(
      Object.entries(row.perImage).map(([k, v]) => [k, usd(v, NANO_PER_USD)]),
    )
  if (row.perMinute) price.perSecondNano = usd(row.perMinute, NANO_PER_USD / 60)
  if (row.perMCharacters) price.perCharacterNano = usd(row.perMCharacters, NANO_PER_TOKEN)
  const search = row.perWebSearch ?? (anthropic ? ANTHROPIC_WEB_SEARCH_USD : undefined)
  if (search !== undefined) price.perWebSearchNano = usd(search, NANO_PER_USD)
  const residency = row.dataResidencyFactor ?? (anthropic ? ANTHROPIC_DATA_RESIDENCY_FACTOR : undefined)
  if (residency !== undefined) price.dataResidencyFactor = factor(residency)
  const long = row.longContext
  if (long) {
    const longInput = perToken(long.inputPerMTok)
    price.longContext = {
      aboveInputTokens: long.aboveInputTokens,
      inputNano: longInput,
      outputNano: perToken(long.outputPerMTok),
      cachedInputNano: perToken(long.cachedInputPerMTok ?? long.inputPerMTok),
      cacheWrite5mNano: write(long.cacheWrite5mPerMTok, 1.25, longInput),
      cacheWrite1hNano: write(long.cacheWrite1hPerMTok, 2, longInput),
    }
  }
  return price
}

/** PRICE_FIELDS are the optional decimal USD fields of a PriceRow, for readers of price files. */
export const PRICE_FIELDS = [
  'cachedInputPerMTok',
  'cacheWrite5mPerMTok',
  'cacheWrite1hPerMTok',
  'audioInputPerMTok',
  'audioOutputPerMTok',
  'imageInputPerMTok',
  'cachedImageInputPerMTok',
  'imageOutputPerMTok',
  'perMinute',
  'perMCharacters',
  'perWebSearch',
  'dataResidencyFactor',
] as const satisfies readonly (keyof PriceRow)[]
