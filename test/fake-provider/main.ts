// fake provider CLI for the demo and the benchmarks:
//   node test/fake-provider/main.ts [--port N] [--host H] [--api-key K] [--behave JSON]
// Prints `fake provider listening on URL` as one line and exits cleanly on SIGTERM/SIGINT.
import { parseArgs } from 'node:util'
import { type Behaviour, startFakeProvider } from './fake-provider.ts'

const USAGE = `usage: node test/fake-provider/main.ts [--port N] [--host H] [--api-key K] [--behave JSON]
  --port N       port to listen on (default 0: a free port)
  --host H       address to listen on (default 127.0.0.1)
  --api-key K    answer 401 unless requests carry this key
  --behave JSON  default behaviour for every request, e.g. '{"chunkDelayMs":20,"outputTokens":100}'`

const fail = (message: string): never => {
  console.error(`fake provider: ${message}\n${USAGE}`)
  process.exit(2)
}

const parse = () => {
  try {
    return parseArgs({
      options: {
        port: { type: 'string', default: '0' },
        host: { type: 'string', default: '127.0.0.1' },
        'api-key': { type: 'string' },
        behave: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values
  } catch (err) {
    return fail((err as Error).message)
  }
}

const args = parse()
if (args.help) {
  console.log(USAGE)
  process.exit(0)
}
const port = Number(args.port)
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid --port ${JSON.stringify(args.port)}`)
let behaviour: Behaviour = {}
try {
  behaviour = JSON.parse(args.behave ?? '{}') as Behaviour
} catch (err) {
  fail(`invalid --behave: ${(err as Error).message}`)
}

// Benchmarks send millions of requests: do not keep them in memory.
const fake = await startFakeProvider({ port, host: args.host, apiKey: args['api-key'], record: false })
try {
  fake.behave(behaviour)
} catch (err) {
  await fake.close()
  fail((err as Error).message)
}
console.log(`fake provider listening on ${fake.url}`)

const stop = async () => {
  await fake.close()
  process.exit(0)
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
