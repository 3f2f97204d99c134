// `npm run soak`: a bounded fault soak. Two sidecars and two operators under steady mixed load
// while Redis, Postgres, the API server and the leading operator are killed and started again,
// each at least twice; then the ledger is held against the client's calls and the fake provider's
// own tally. Exits 0 when nothing was lost, double-counted, wrongly refused or hung; 1 otherwise;
// 2 when it could not start.
//   node hack/soak/main.ts [--duration 10m] [--redis single|cluster] [--workers 3] [--pause 50ms]
//                          [--json FILE] [--keep]
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { parseDuration } from '@tollgate/api/duration.ts'
import { REDIS_MODES, type RedisMode } from '@tollgate/api/redis-mode.ts'
import { FaultInjector, type FaultRecord, roundsFor, schedule } from './faults.ts'
import { checkSeries, settledLedger } from './ledger-check.ts'
import { LoadTally, runLoad } from './load.ts'
import { buildReport, formatReport } from './report.ts'
import { type SoakSystem, startSoakSystem } from './system.ts'

const USAGE =
  'usage: node hack/soak/main.ts [--duration 10m] [--redis single|cluster] [--workers N] [--pause 50ms] [--json FILE] [--keep]'

const fail = (message: string, usage = true): never => {
  console.error(`soak: ${message}${usage ? `\n${USAGE}` : ''}`)
  process.exit(2)
}

const parse = () => {
  try {
    return parseArgs({
      options: {
        duration: { type: 'string', default: '10m' },
        redis: { type: 'string', default: 'single' },
        workers: { type: 'string', default: '3' },
        pause: { type: 'string', default: '50ms' },
        json: { type: 'string' },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values
  } catch (error) {
    return fail((error as Error).message)
  }
}

const args = parse()
if (args.help) {
  console.log(USAGE)
  process.exit(0)
}
const durationMs = (() => {
  try {
    return parseDuration(args.duration)
  } catch (error) {
    return fail((error as Error).message)
  }
})()
if (durationMs < 60_000) fail('--duration must be at least 1m: every fault twice needs the time')
if (!REDIS_MODES.includes(args.redis as RedisMode)) fail(`--redis must be one of ${REDIS_MODES.join(', ')}`)
const workers = Number(args.workers)
if (!Number.isInteger(workers) || workers < 1) fail('--workers must be a whole number of at least 1')
const pauseMs = (() => {
  try {
    return parseDuration(args.pause)
  } catch (error) {
    return fail((error as Error).message)
  }
})()

const started = Date.now()
const log = (line: string) => console.error(`soak +${((Date.now() - started) / 1000).toFixed(1)}s: ${line}`)
const dir = mkdtempSync(join(tmpdir(), 'tollgate-soak-'))
chmodSync(dir, 0o755) // Postgres runs as its own user when we are root and must reach its folder.
let system: SoakSystem | undefined
const cleanUp = async () => {
  await system?.close()
  if (!args.keep) rmSync(dir, { recursive: true, force: true })
}
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    cleanUp().finally(() => process.exit(130))
  })

try {
  system = await startSoakSystem({ dir, redis: args.redis as RedisMode, log })
} catch (error) {
  await cleanUp()
  fail(`could not start: ${(error as Error).message}`, false)
}
const s = system as SoakSystem

const tally = new LoadTally()
const stop = new AbortController()
log(`load: ${workers} workers per sidecar, ${pauseMs} ms between calls, for ${durationMs / 1000} s`)
const loadStart = Date.now()
const load = runLoad({ sidecars: s.sidecars, workers, pauseMs, tally, stop: stop.signal })

// Faults start after a tenth of the run (the load warmed up) and end by four fifths of it, so the
// last recovery is inside the run.
const injector = new FaultInjector(s, tally)
const faults: FaultRecord[] = []
const rounds = roundsFor(durationMs)
const warmup = durationMs / 10
for (const { kind, atMs } of schedule(rounds, durationMs * 0.7)) {
  const wait = loadStart + warmup + atMs - Date.now()
  if (wait > 0) await new Promise((r) => setTimeout(r, wait))
  log(`fault: ${kind}`)
  const record = await injector.inject(kind)
  faults.push(record)
  log(
    `  ${record.detail}; ${record.recoveryMs === undefined ? 'NOT recovered' : `recovered in ${record.recoveryMs} ms`}`,
  )
}
const rest = loadStart + durationMs - Date.now()
if (rest > 0) await new Promise((r) => setTimeout(r, rest))
stop.abort()
await load
const loadMs = Date.now() - loadStart
log(`load stopped after ${tally.total} calls; waiting for the ledger to settle`)
await injector.close()
const { ledger, settled } = await settledLedger(s, 5_000, 120_000)
const report = buildReport({
  durationMs: loadMs,
  redis: args.redis,
  tally,
  faults,
  series: checkSeries(s, tally, ledger),
  ledgerSettled: settled,
  minPerKind: 2,
})
console.log(formatReport(report))
if (args.json) writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`)
if (args.keep) console.error(`soak: logs kept in ${dir}/logs`)
await cleanUp()
process.exit(report.pass ? 0 : 1)
