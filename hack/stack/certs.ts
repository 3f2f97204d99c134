import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** ControlPlaneCerts are the files kube-apiserver and its admin client need. */
export interface ControlPlaneCerts {
  caCert: string
  caKey: string
  adminCert: string
  adminKey: string
  serviceAccountKey: string
  serviceAccountPub: string
}

/** KeyPair is a certificate and its private key, as PEM files. */
export interface KeyPair {
  cert: string
  key: string
}

/**
 * ClusterCerts are what a control plane with a real node needs besides ControlPlaneCerts: a serving
 * certificate for kube-apiserver that pods can verify with the cluster CA (kube-root-ca.crt), and a
 * client certificate for each component, named as the Node and RBAC authorizers expect.
 */
export interface ClusterCerts extends ControlPlaneCerts {
  apiserver: KeyPair
  apiserverKubeletClient: KeyPair
  kubeletServing: KeyPair
  kubelet: KeyPair
  controllerManager: KeyPair
  scheduler: KeyPair
  kubeProxy: KeyPair
  /** The NetworkPolicy enforcer's client, bound to its ClusterRole by manifests/kube-router-rbac.yaml. */
  kubeRouter: KeyPair
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' })

/**
 * makeCerts writes (once) a CA, an admin client certificate in `system:masters` and the service
 * account signing key pair into dir. kube-apiserver makes its own serving certificate in --cert-dir.
 */
export function makeCerts(dir: string): ControlPlaneCerts {
  const f = (name: string) => join(dir, name)
  const certs: ControlPlaneCerts = {
    caCert: f('ca.crt'),
    caKey: f('ca.key'),
    adminCert: f('admin.crt'),
    adminKey: f('admin.key'),
    serviceAccountKey: f('sa.key'),
    serviceAccountPub: f('sa.pub'),
  }
  if (existsSync(certs.serviceAccountPub)) return certs
  mkdirSync(dir, { recursive: true })
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', certs.caKey])
  openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    certs.caKey,
    '-subj',
    '/CN=tollgate-dev-ca',
    '-days',
    '3650',
    '-out',
    certs.caCert,
  ])
  issue(certs, dir, 'admin', '/O=system:masters/CN=tollgate-admin')
  openssl(['genrsa', '-out', certs.serviceAccountKey, '2048'])
  openssl(['rsa', '-in', certs.serviceAccountKey, '-pubout', '-out', certs.serviceAccountPub])
  return certs
}

/**
 * makeClusterCerts adds, once, the serving and client certificates of a cluster with one node to
 * the CA that makeCerts made in dir. sans are the names and addresses kube-apiserver answers on.
 */
export function makeClusterCerts(
  dir: string,
  options: { nodeName: string; nodeIP: string; apiserverSANs: string[] },
): ClusterCerts {
  const base = makeCerts(dir)
  const { nodeName, nodeIP } = options
  const pair = (name: string, subject: string, sans?: string[]) => issue(base, dir, name, subject, sans)
  return {
    ...base,
    apiserver: pair('apiserver', '/CN=kube-apiserver', options.apiserverSANs),
    apiserverKubeletClient: pair(
      'apiserver-kubelet-client',
      '/O=system:masters/CN=kube-apiserver-kubelet-client',
    ),
    kubeletServing: pair('kubelet-serving', `/CN=${nodeName}`, [`DNS:${nodeName}`, `IP:${nodeIP}`]),
    kubelet: pair('kubelet', `/O=system:nodes/CN=system:node:${nodeName}`),
    controllerManager: pair('controller-manager', '/CN=system:kube-controller-manager'),
    scheduler: pair('scheduler', '/CN=system:kube-scheduler'),
    kubeProxy: pair('kube-proxy', '/CN=system:kube-proxy'),
    kubeRouter: pair('kube-router', '/CN=system:kube-router'),
  }
}

/** issue signs (once) a certificate for subject with the CA; with sans it is a serving certificate. */
function issue(ca: ControlPlaneCerts, dir: string, name: string, subject: string, sans?: string[]): KeyPair {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) }
  if (existsSync(pair.cert)) return pair
  const csr = join(dir, `${name}.csr`)
  const ext = join(dir, `${name}.ext`)
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', pair.key])
  openssl(['req', '-new', '-key', pair.key, '-subj', subject, '-out', csr])
  writeFileSync(
    ext,
    sans
      ? `extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${sans.join(',')}\n`
      : 'extendedKeyUsage=clientAuth\n',
  )
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.caCert,
    '-CAkey',
    ca.caKey,
    '-CAcreateserial',
    '-days',
    '3650',
    '-extfile',
    ext,
    '-out',
    pair.cert,
  ])
  rmSync(csr)
  rmSync(ext)
  return pair
}
