#!/usr/bin/env node
// kubectl-tollgate: the kubectl plugin (`kubectl tollgate ...` finds it on PATH). Only wiring:
// flags, the console client, one command, its output.
import { parseArgs } from 'node:util'
import { parseDuration } from '@tollgate/api'
import { ConsoleClient, PluginError } from './console-client.ts'
import { dashboardCommand } from './dashboard-command.ts'
import { explainCommand } from './explain-command.ts'
import { purgeCommand } from './purge-command.ts'
import { topCommand } from './top-command.ts'
import { USAGE_FILTERS, usageCommand } from './usage-command.ts'

const HELP = `Usage: kubectl tollgate COMMAND [flags]

Commands:
  usage TENANT [--from D] [--to D] [--provider P] [--model M] [--namespace-filter NS]
        [--workload W] [--user U] [-o table|csv|json]   the tenant's ledger rows and their total
  top [TENANT...] [--for DURATION]     live calls per tenant, workload and model, from the feed
  purge TENANT                          purge the tenant's response cache (needs patch on the Tenant)
  explain POD [-n NAMESPACE]            which tenant governs the pod, its limits, budgets, refusals
  dashboard                             port-forward to the console and print its URL

Flags:
  --url URL           the console (default: kubectl port-forward to svc/tollgate; env TOLLGATE_CONSOLE_URL)
  --token TOKEN       bearer token (default: env TOLLGATE_TOKEN, then the kubeconfig user's token)
  --operator-namespace NS  where the operator runs (default tollgate-system)
  --service NAME      the operator's Service (default tollgate); --console-port N (default 8082)
  -h, --help
`

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      'operator-namespace': { type: 'string' },
      service: { type: 'string' },
      'console-port': { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      output: { type: 'string', short: 'o' },
      for: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      provider: { type: 'string' },
      model: { type: 'string' },
      'namespace-filter': { type: 'string' },
      workload: { type: 'string' },
      user: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const [command, ...args] = positionals
  if (values.help || !command) {
    process.stdout.write(HELP)
    return values.help ? 0 : 1
  }
  const operatorNamespace = values['operator-namespace'] ?? 'tollgate-system'
  const url = values.url ?? process.env.TOLLGATE_CONSOLE_URL
  const token = values.token ?? process.env.TOLLGATE_TOKEN
  const client = new ConsoleClient({
    ...(url && { url }),
    ...(token && { token }),
    namespace: operatorNamespace,
    service: values.service ?? 'tollgate',
    port: Number(values['console-port'] ?? 8082),
    kubectl: process.env.KUBECTL ?? 'kubectl',
  })
  const out = (text: string) => process.stdout.write(text)
  const one = (what: string) => {
    if (args.length !== 1) throw new PluginError(`${command} needs exactly one ${what}`)
    return args[0] as string
  }
  try {
    switch (command) {
      case 'usage': {
        const output = values.output ?? 'table'
        if (output !== 'table' && output !== 'csv' && output !== 'json')
          throw new PluginError('-o is table, csv or json')
        const filters = Object.fromEntries(
          USAGE_FILTERS.map((f) => [f, f === 'namespace' ? values['namespace-filter'] : values[f]]),
        )
        out(await usageCommand(client, one('TENANT'), filters, output))
        return 0
      }
      case 'top': {
        const tenants = args.length
          ? args
          : (await client.json<{ tenants: { name: string }[] }>('/api/v1/analytics/tenants')).tenants.map(
              (t) => t.name,
            )
        if (tenants.length === 0) throw new PluginError('you may read no tenant')
        const stop = new AbortController()
        process.once('SIGINT', () => stop.abort())
        out(
          await topCommand(client, tenants, {
            ...(values.for && { forMs: parseDuration(values.for) }),
            intervalMs: 2_000,
            write: out,
            onConnected: () => process.stderr.write(`following ${tenants.length} feed(s); Ctrl-C stops\n`),
            signal: stop.signal,
          }),
        )
        return 0
      }
      case 'purge':
        out(await purgeCommand(client, one('TENANT')))
        return 0
      case 'explain':
        out(await explainCommand(client, values.namespace ?? 'default', one('POD')))
        return 0
      case 'dashboard': {
        out(await dashboardCommand(client, operatorNamespace))
        if (url) return 0
        out('Forwarding; press Ctrl-C to stop.\n')
        await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()))
        return 0
      }
      default:
        throw new PluginError(`unknown command ${JSON.stringify(command)}; see --help`)
    }
  } finally {
    client.close()
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`kubectl-tollgate: ${error.message}\n`)
    process.exit(1)
  },
)
