import { execFileSync } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
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
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', certs.adminKey])
  const csr = f('admin.csr')
  openssl([
    'req',
    '-new',
    '-key',
    certs.adminKey,
    '-subj',
    '/O=system:masters/CN=tollgate-admin',
    '-out',
    csr,
  ])
  const ext = f('admin.ext')
  writeFileSync(ext, 'extendedKeyUsage=clientAuth\n')
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    certs.caCert,
    '-CAkey',
    certs.caKey,
    '-CAcreateserial',
    '-days',
    '3650',
    '-extfile',
    ext,
    '-out',
    certs.adminCert,
  ])
  openssl(['genrsa', '-out', certs.serviceAccountKey, '2048'])
  openssl(['rsa', '-in', certs.serviceAccountKey, '-pubout', '-out', certs.serviceAccountPub])
  return certs
}
