import { describe, expect, it } from 'vitest'
import { parseRange, toCsv } from './usage-export.ts'

describe('usage export', () => {
  it('renders CSV with a header and quotes fields that need it', () => {
    const csv = toCsv([
      {
        tenant: 'acme',
        hour: '2026-11-23T15:00:00.000Z',
        provider: 'openai',
        model: 'ft:gpt-4o:"x",y',
        namespace: 'prod',
        workload: 'deployment/app',
        user: 'u,1',
        requests: 2,
        cacheHits: 1,
        errors: 0,
        inputTokens: 10,
        outputTokens: 5,
        cachedInputTokens: 0,
        reasoningTokens: 0,
        costNano: 75,
        cacheWrite5mTokens: 3,
        cacheWrite1hTokens: 0,
        audioInputTokens: 0,
        audioOutputTokens: 0,
        imageInputTokens: 0,
        imageOutputTokens: 0,
        images: 0,
        audioSeconds: 0,
        characters: 0,
        cacheSavedNano: 40,
      },
    ])
    expect(csv.split('\r\n')).toEqual([
      'tenant,hour,provider,model,namespace,workload,user,requests,cache_hits,errors,input_tokens,output_tokens,cached_input_tokens,reasoning_tokens,cost_nano,cache_write_5m_tokens,cache_write_1h_tokens,audio_input_tokens,audio_output_tokens,image_input_tokens,image_output_tokens,images,audio_seconds,characters,cache_saved_nano',
      'acme,2026-11-23T15:00:00.000Z,openai,"ft:gpt-4o:""x"",y",prod,deployment/app,"u,1",2,1,0,10,5,0,0,75,3,0,0,0,0,0,0,0,0,40',
      '',
    ])
  })

  it('reads dates and times and defaults to today so far', () => {
    const now = new Date('2026-11-23T15:20:00Z')
    expect(parseRange(undefined, undefined, now)).toEqual({ from: new Date('2026-11-23T00:00:00Z'), to: now })
    expect(parseRange('2026-11-01', '2026-11-02T12:00:00Z', now)).toEqual({
      from: new Date('2026-11-01T00:00:00Z'),
      to: new Date('2026-11-02T12:00:00Z'),
    })
    expect(() => parseRange('yesterday', undefined, now)).toThrow(/invalid from/)
    expect(() => parseRange('2026-11-02', '2026-11-01', now)).toThrow(/after/)
  })
})
