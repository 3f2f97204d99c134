import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto'
import forge from 'node-forge'
import type { KeyPair } from './admission-server.ts'

const DAY_MS = 86_400_000

/** CertificateRequest describes the serving certificate the API server will check. */
export interface ServingCertificateRequest {
  /** DNS names, e.g. `tollgate-webhook.tollgate-system.svc`. The first one is the common name. */
  dnsNames: string[]
  ipAddresses?: string[]
  validForDays: number
  now: Date
}

/**
 * newKeyPair makes an RSA 2048 key with node:crypto (fast, native) and hands it to node-forge in
 * PEM, which only builds and signs the certificate.
 */
function newKeyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  })
  return {
    pem: privateKey,
    forgePrivate: forge.pki.privateKeyFromPem(privateKey),
    forgePublic: forge.pki.publicKeyFromPem(publicKey),
  }
}

function baseCertificate(publicKey: forge.pki.PublicKey, now: Date, validForDays: number) {
  const cert = forge.pki.createCertificate()
  cert.publicKey = publicKey
  // A positive serial: 16 random bytes with the top bit cleared.
  const serial = randomBytes(16)
  serial[0] = (serial[0] as number) & 0x7f
  cert.serialNumber = serial.toString('hex')
  // Back-date a little so a node whose clock runs behind still accepts it.
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60_000)
  cert.validity.notAfter = new Date(now.getTime() + validForDays * DAY_MS)
  return cert
}

/** createCA makes a self-signed CA that only signs serving certificates for the webhook. */
export function createCA(opts: { commonName: string; validForDays: number; now: Date }): KeyPair {
  const keys = newKeyPair()
  const cert = baseCertificate(keys.forgePublic, opts.now, opts.validForDays)
  const subject = [{ name: 'commonName', value: opts.commonName }]
  cert.setSubject(subject)
  cert.setIssuer(subject)
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ])
  cert.sign(keys.forgePrivate, forge.md.sha256.create())
  return { cert: forge.pki.certificateToPem(cert), key: keys.pem }
}

/** issueServingCertificate signs a TLS server certificate for the webhook Service with the CA. */
export function issueServingCertificate(ca: KeyPair, req: ServingCertificateRequest): KeyPair {
  const caCert = forge.pki.certificateFromPem(ca.cert)
  const caKey = forge.pki.privateKeyFromPem(ca.key)
  const keys = newKeyPair()
  const cert = baseCertificate(keys.forgePublic, req.now, req.validForDays)
  cert.setSubject([{ name: 'commonName', value: req.dnsNames[0] ?? 'tollgate-webhook' }])
  cert.setIssuer(caCert.subject.attributes)
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...req.dnsNames.map((value) => ({ type: 2, value })),
        ...(req.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
      ],
    },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ])
  cert.sign(caKey, forge.md.sha256.create())
  return { cert: forge.pki.certificateToPem(cert), key: keys.pem }
}

/**
 * needsRenewal is true when less than `remainingFraction` of the certificate's lifetime is left
 * (or it is unreadable, or not yet valid), so every replica renews well before expiry.
 */
export function needsRenewal(certPem: string, now: Date, remainingFraction = 1 / 3): boolean {
  try {
    const cert = new X509Certificate(certPem)
    const from = new Date(cert.validFrom).getTime()
    const to = new Date(cert.validTo).getTime()
    if (now.getTime() < from) return true
    return to - now.getTime() < (to - from) * remainingFraction
  } catch {
    return true
  }
}

/** coversNames is true when the certificate's SANs include every wanted DNS name. */
export function coversNames(certPem: string, dnsNames: string[]): boolean {
  try {
    const sans = (new X509Certificate(certPem).subjectAltName ?? '').split(', ')
    return dnsNames.every((n) => sans.includes(`DNS:${n}`))
  } catch {
    return false
  }
}

/** isIssuedBy checks that the certificate was signed by the CA (signature and issuer name). */
export function isIssuedBy(certPem: string, caPem: string): boolean {
  try {
    const cert = new X509Certificate(certPem)
    const ca = new X509Certificate(caPem)
    return cert.checkIssued(ca) && cert.verify(ca.publicKey)
  } catch {
    return false
  }
}
