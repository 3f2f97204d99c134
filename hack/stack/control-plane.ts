import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { makeCerts } from './certs.ts'
import { freePort, ServerProcess, waitFor } from './process.ts'
import { closer, type Service } from './service.ts'

/** ControlPlane is etcd plus kube-apiserver, the way controller-runtime's envtest runs them: no kubelet, no controller-manager. */
export interface ControlPlane extends Service {
  /** Path of a kubeconfig whose user is in system:masters. */
  kubeconfig: string
  url: string
  port: number
}

/**
 * startControlPlane starts etcd and kube-apiserver on free loopback ports with state under dir.
 * binDir holds kube-apiserver (hack/build-k8s.sh). Without a controller-manager, namespaces never
 * finish terminating and nothing is garbage-collected.
 */
export async function startControlPlane(options: {
  dir: string
  binDir: string
  port?: number
}): Promise<ControlPlane> {
  const { dir, binDir } = options
  mkdirSync(join(dir, 'apiserver'), { recursive: true })
  const certs = makeCerts(dir)
  const [etcdPort, peerPort, port] = [await freePort(), await freePort(), options.port ?? (await freePort())]
  const etcdURL = `http://127.0.0.1:${etcdPort}`
  const peerURL = `http://127.0.0.1:${peerPort}`
  const etcd = new ServerProcess(
    'etcd',
    'etcd',
    [
      '--name=tollgate',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdURL}`,
      `--advertise-client-urls=${etcdURL}`,
      `--listen-peer-urls=${peerURL}`,
      `--initial-advertise-peer-urls=${peerURL}`,
      `--initial-cluster=tollgate=${peerURL}`,
      '--log-level=warn',
    ],
    join(dir, 'etcd.log'),
  )
  const apiserver = new ServerProcess(
    'kube-apiserver',
    join(binDir, 'kube-apiserver'),
    [
      `--etcd-servers=${etcdURL}`,
      `--cert-dir=${join(dir, 'apiserver')}`,
      `--secure-port=${port}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      '--authorization-mode=RBAC',
      `--client-ca-file=${certs.caCert}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${certs.serviceAccountPub}`,
      `--service-account-signing-key-file=${certs.serviceAccountKey}`,
      // No controller-manager creates the `default` ServiceAccount, so pods could not be stored.
      '--disable-admission-plugins=ServiceAccount',
      '--v=0',
    ],
    join(dir, 'kube-apiserver.log'),
  )

  const kubeconfig = join(dir, 'kubeconfig')
  const url = `https://127.0.0.1:${port}`
  const tls = { cert: readFileSync(certs.adminCert), key: readFileSync(certs.adminKey) }

  const start = async () => {
    etcd.start()
    await waitFor('etcd', () => httpOK(`${etcdURL}/health`), 30_000)
    apiserver.start()
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
    await apiserver.stop()
    await etcd.stop()
  }
  await start()
  // kube-apiserver made its self-signed serving certificate (with its CA) on first start.
  writeFileSync(
    kubeconfig,
    renderKubeconfig(url, join(dir, 'apiserver', 'apiserver.crt'), certs.adminCert, certs.adminKey),
  )
  return {
    name: 'control-plane',
    kubeconfig,
    url,
    port,
    pids: () => [apiserver.pid, etcd.pid],
    start,
    stop,
    close: closer(stop, dir),
  }
}

function renderKubeconfig(server: string, ca: string, cert: string, key: string): string {
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
