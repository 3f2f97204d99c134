import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { type ClusterCerts, makeCerts } from './certs.ts'
import type { NetworkNamespace } from './netns.ts'
import { freePort, ServerProcess, waitFor } from './process.ts'
import { closer, type Service } from './service.ts'

/** ControlPlane is etcd plus kube-apiserver, the way controller-runtime's envtest runs them: no kubelet, no controller-manager. */
export interface ControlPlane extends Service {
  kill(): Promise<void>
  /** Path of a kubeconfig whose user is in system:masters. */
  kubeconfig: string
  url: string
  port: number
}

/**
 * ClusterNetwork puts the control plane beside a real node: etcd and kube-apiserver run in the
 * node's network namespace (so kube-apiserver reaches pods and webhooks on the pod network, and pods
 * reach it through the `kubernetes` Service), with a serving certificate from the cluster CA. The
 * host reaches kube-apiserver only through a loopback forwarder that enters the namespace per
 * connection.
 */
export interface ClusterNetwork {
  netns: NetworkNamespace
  certs: ClusterCerts
  serviceCIDR: string
}

/**
 * startControlPlane starts etcd and kube-apiserver with state under dir: on free loopback ports,
 * or with `cluster`, inside the node's network namespace behind a loopback forwarder. binDir holds
 * kube-apiserver (hack/build-k8s.sh). Without `cluster` there is no controller-manager: namespaces
 * never finish terminating and nothing is garbage-collected.
 */
export async function startControlPlane(options: {
  dir: string
  binDir: string
  port?: number
  cluster?: ClusterNetwork
}): Promise<ControlPlane> {
  const { dir, binDir, cluster } = options
  mkdirSync(join(dir, 'apiserver'), { recursive: true })
  const certs = cluster?.certs ?? makeCerts(dir)
  const port = options.port ?? (await freePort())
  // In the namespace nothing else listens, so the ports are fixed; on the host they are free ones.
  const [etcdPort, peerPort, apiPort] = cluster
    ? [2379, 2380, 6443]
    : [await freePort(), await freePort(), port]
  const run = (command: string, args: string[]): [string, string[]] =>
    cluster ? cluster.netns.inside(command, args) : [command, args]
  const etcdURL = `http://127.0.0.1:${etcdPort}`
  const peerURL = `http://127.0.0.1:${peerPort}`
  const etcd = new ServerProcess(
    'etcd',
    ...run('etcd', [
      '--name=tollgate',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdURL}`,
      `--advertise-client-urls=${etcdURL}`,
      `--listen-peer-urls=${peerURL}`,
      `--initial-advertise-peer-urls=${peerURL}`,
      `--initial-cluster=tollgate=${peerURL}`,
      '--log-level=warn',
    ]),
    join(dir, 'etcd.log'),
  )
  const common = [
    `--etcd-servers=${etcdURL}`,
    `--secure-port=${apiPort}`,
    '--allow-privileged=true',
    `--client-ca-file=${certs.caCert}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${certs.serviceAccountPub}`,
    `--service-account-signing-key-file=${certs.serviceAccountKey}`,
    '--profiling=false',
    '--v=0',
  ]
  const apiserver = new ServerProcess(
    'kube-apiserver',
    ...run(
      join(binDir, 'kube-apiserver'),
      cluster
        ? [
            ...common,
            '--bind-address=0.0.0.0',
            `--advertise-address=${cluster.netns.nodeIP}`,
            `--service-cluster-ip-range=${cluster.serviceCIDR}`,
            '--authorization-mode=Node,RBAC',
            `--tls-cert-file=${cluster.certs.apiserver.cert}`,
            `--tls-private-key-file=${cluster.certs.apiserver.key}`,
            `--kubelet-client-certificate=${cluster.certs.apiserverKubeletClient.cert}`,
            `--kubelet-client-key=${cluster.certs.apiserverKubeletClient.key}`,
            '--kubelet-preferred-address-types=InternalIP',
          ]
        : [
            ...common,
            `--cert-dir=${join(dir, 'apiserver')}`,
            '--bind-address=127.0.0.1',
            '--advertise-address=127.0.0.1',
            '--service-cluster-ip-range=10.0.0.0/24',
            '--authorization-mode=RBAC',
            // No controller-manager creates the `default` ServiceAccount, so pods could not be stored.
            '--disable-admission-plugins=ServiceAccount',
          ],
    ),
    join(dir, 'kube-apiserver.log'),
  )
  // Each connection to the host's loopback port runs a socat inside the namespace, so once the
  // namespace is gone a connection just fails; nothing is ever routed off the machine.
  const forwarder =
    cluster &&
    new ServerProcess(
      'apiserver-forwarder',
      'socat',
      [
        `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`,
        `EXEC:nsenter --net=${cluster.netns.path} -- socat STDIO TCP\\:127.0.0.1\\:${apiPort},nofork`,
      ],
      join(dir, 'apiserver-forwarder.log'),
    )

  const kubeconfig = join(dir, 'kubeconfig')
  const url = `https://127.0.0.1:${port}`
  const tls = { cert: readFileSync(certs.adminCert), key: readFileSync(certs.adminKey) }

  const start = async () => {
    etcd.start()
    // etcd in the namespace is out of the host's reach; kube-apiserver waits for it by itself.
    if (!cluster) await waitFor('etcd', () => httpOK(`${etcdURL}/health`), 30_000)
    apiserver.start()
    forwarder?.start()
    await waitFor(
      'kube-apiserver',
      async () => {
        if (!apiserver.running)
          throw new Error(`kube-apiserver exited; see ${join(dir, 'kube-apiserver.log')}`)
        return (
          (await get(`${url}/readyz`, tls)) === 200 &&
          (await get(`${url}/api/v1/namespaces/default`, tls)) === 200
        )
      },
      90_000,
    )
  }
  const stop = async () => {
    await forwarder?.stop()
    await apiserver.stop()
    await etcd.stop()
  }
  await start()
  // Without a cluster CA, kube-apiserver made its self-signed serving certificate on first start.
  const servingCA = cluster ? certs.caCert : join(dir, 'apiserver', 'apiserver.crt')
  writeFileSync(kubeconfig, renderKubeconfig(url, servingCA, certs.adminCert, certs.adminKey))
  return {
    name: 'control-plane',
    kubeconfig,
    url,
    port,
    pids: () => [forwarder?.pid, apiserver.pid, etcd.pid],
    start,
    stop,
    kill: async () => {
      await forwarder?.kill()
      await apiserver.kill()
      await etcd.kill()
    },
    close: closer(stop, dir),
  }
}

/** renderKubeconfig writes a kubeconfig with a client certificate. */
export function renderKubeconfig(server: string, ca: string, cert: string, key: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: tollgate-dev
  cluster:
    server: ${server}
    certificate-authority: ${ca}
users:
- name: admin
  user:
    client-certificate: ${cert}
    client-key: ${key}
contexts:
- name: tollgate-dev
  context: { cluster: tollgate-dev, user: admin }
current-context: tollgate-dev
`
}

async function httpOK(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) })
  return response.ok
}

function get(url: string, tls: { cert: Buffer; key: Buffer }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...tls, rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.once('timeout', () => req.destroy(new Error('timeout')))
    req.once('error', reject)
    req.end()
  })
}
