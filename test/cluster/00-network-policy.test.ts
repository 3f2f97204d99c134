import type { V1Pod } from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clusterEnv, eventually, type Kube, kube } from './support.ts'

// The node enforces NetworkPolicies (kube-router's firewall controller, hack/stack/network-policy.ts):
// without an enforcer a policy is only an object in etcd, and a test of the chart's own policies
// would pass whatever they said. Two pods of the sample-app image (it has Node) in a scratch
// namespace with no injection: a server and a client. Every connection is made from inside the
// client pod with `kubectl exec`; the host never connects to a pod address.

const namespace = `netpol-${Date.now().toString(36)}`
const port = 8080

let k: Kube
let image: string

beforeAll(async () => {
  const env = await clusterEnv()
  k = kube(env)
  image = env.images['sample-app'] as string
  await k('create', 'namespace', namespace)
  await k.apply([podYaml('server', server), podYaml('client', idle)].join('---\n'))
  await k('-n', namespace, 'wait', '--for=condition=Ready', 'pod/server', 'pod/client', '--timeout=120s')
})

afterAll(async () => {
  await k?.('delete', 'namespace', namespace, '--wait=false')
})

/**
 * server answers every TCP connection on the port with 'ok'; idle only keeps the pod running. The
 * server ignores socket errors: unhandled, a client's reset kills it, and the restarts would read
 * as refusals with no policy at all (the test's check of its restart count guards that).
 */
const server = `require('node:net').createServer((s) => { s.on('error', () => {}); s.end('ok') }).listen(${port})`
const idle = 'setInterval(() => {}, 1 << 30)'

function podYaml(name: string, script: string): string {
  return `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${namespace}, labels: { app: ${name} } }
spec:
  terminationGracePeriodSeconds: 0
  securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: RuntimeDefault } }
  containers:
    - name: main
      image: ${image}
      imagePullPolicy: Never
      command: [node, -e, ${JSON.stringify(script)}]
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: [ALL] } }
`
}

/**
 * connect opens a TCP connection from the client pod to the server pod and reports how it ended:
 * 'connected' once the server's 'ok' arrived, 'timeout' after 3 s (a dropped SYN), or the error
 * code (kube-router rejects with ICMP port unreachable: ECONNREFUSED).
 */
async function connect(): Promise<string> {
  const { status } = await k.json<V1Pod>('-n', namespace, 'get', 'pod', 'server')
  const probe = `const s = require('node:net').connect({ host: '${status?.podIP}', port: ${port}, timeout: 3000 })
s.on('data', (d) => { console.log(String(d) === 'ok' ? 'connected' : 'unexpected answer'); s.end() })
s.on('timeout', () => { console.log('timeout'); s.destroy() })
s.on('error', (e) => console.log(e.code))`
  return (await k('-n', namespace, 'exec', 'client', '--', 'node', '-e', probe)).trim()
}

const refused = new Set(['timeout', 'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH'])

/** expectServerUp fails when the server restarted: a refusal would then prove nothing about policy. */
async function expectServerUp(): Promise<void> {
  const { status } = await k.json<V1Pod>('-n', namespace, 'get', 'pod', 'server')
  expect(status?.containerStatuses?.[0]?.restartCount).toBe(0)
  expect(status?.containerStatuses?.[0]?.ready).toBe(true)
}

describe('NetworkPolicy on the real node', () => {
  it('lets the client reach the server while no policy selects it', async () => {
    // The server may take a moment to listen after its pod turns Ready.
    await eventually(async () => (await connect()) === 'connected', 30_000, 'a connection to the server')
    // Steadily, not once.
    for (let i = 0; i < 3; i++) expect(await connect()).toBe('connected')
    await expectServerUp()
  })

  it('refuses the client once a policy admits only pods labelled netpol-test/access=allowed', async () => {
    await k.apply(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: server-ingress, namespace: ${namespace} }
spec:
  podSelector: { matchLabels: { app: server } }
  policyTypes: [Ingress]
  ingress:
    - from: [{ podSelector: { matchLabels: { netpol-test/access: allowed } } }]
      ports: [{ protocol: TCP, port: ${port} }]
`)
    const outcome = await eventually(
      async () => {
        const seen = await connect()
        return seen !== 'connected' && seen
      },
      30_000,
      'the policy to refuse the client',
      500,
    )
    expect(refused).toContain(outcome)
    // Not a blip: the next attempts are refused too, and the server is still up and listening.
    for (let i = 0; i < 3; i++) expect(refused).toContain(await connect())
    await expectServerUp()
  })

  it('admits the client once it carries the label', async () => {
    await k('-n', namespace, 'label', 'pod', 'client', 'netpol-test/access=allowed')
    await eventually(
      async () => (await connect()) === 'connected',
      30_000,
      'the labelled client to be admitted',
      500,
    )
    for (let i = 0; i < 3; i++) expect(await connect()).toBe('connected')
    await expectServerUp()
  })
})
