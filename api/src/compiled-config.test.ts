import { describe, expect, it } from 'vitest'
import { isNewerConfig } from './compiled-config.ts'

describe('isNewerConfig', () => {
  it.each([
    [{ epoch: 1, version: 3 }, { epoch: 1, version: 2 }, true],
    [{ epoch: 1, version: 2 }, { epoch: 1, version: 2 }, false],
    [{ epoch: 1, version: 1 }, { epoch: 1, version: 2 }, false],
    // Redis lost its data: the counter starts again, in a new epoch.
    [{ epoch: 2, version: 1 }, { epoch: 1, version: 9 }, true],
    // A config of an older epoch, replayed: never taken again, whatever its version.
    [{ epoch: 1, version: 99 }, { epoch: 2, version: 1 }, false],
    // Configs of older operators carry no epoch: 0.
    [{ epoch: 5, version: 1 }, { version: 4 }, true],
    [{ version: 9 }, { epoch: 5, version: 1 }, false],
    [{ version: 3 }, { version: 2 }, true],
  ])('%j over %j: %s', (candidate, held, newer) => {
    expect(isNewerConfig(candidate, held)).toBe(newer)
  })
})
