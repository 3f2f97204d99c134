import type { ConsoleClient } from './console-client.ts'

/**
 * dashboardCommand opens the way to the web console: the port-forward (unless --url) and the URL
 * to open, once the console answers. It returns the text to print; the caller keeps the process
 * (and the port-forward) alive until Ctrl-C when it forwarded.
 */
export async function dashboardCommand(client: ConsoleClient, namespace: string): Promise<string> {
  const base = await client.base()
  const response = await fetch(`${base}/sign-in`).catch((error: Error) => {
    throw new Error(`the console at ${base} does not answer: ${error.message}`)
  })
  if (!response.ok) throw new Error(`the console at ${base} answers ${response.status}`)
  return `Tollgate console: ${base}/\nSign in with a bearer token, e.g. kubectl create token <service-account> -n <namespace> (namespace of the operator: ${namespace})\n`
}
