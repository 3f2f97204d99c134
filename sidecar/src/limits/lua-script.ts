import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { RedisClient } from '../config/redis-client.ts'

/**
 * LuaScript runs a script by EVALSHA and falls back to EVAL (which also caches it) when the
 * server answers NOSCRIPT, e.g. after a restart or SCRIPT FLUSH. Steady state is one round trip
 * carrying only the digest.
 */
export class LuaScript {
  readonly source: string
  readonly sha: string

  constructor(source: string) {
    this.source = source
    this.sha = createHash('sha1').update(source).digest('hex')
  }

  /** fromFile reads a script that ships next to the code (`new URL('./x.lua', import.meta.url)`). */
  static fromFile(url: URL): LuaScript {
    return new LuaScript(readFileSync(url, 'utf8'))
  }

  async run(
    redis: RedisClient,
    keys: readonly string[],
    args: readonly (string | number | Buffer)[],
  ): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args)
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
      return await redis.eval(this.source, keys.length, ...keys, ...args)
    }
  }
}
