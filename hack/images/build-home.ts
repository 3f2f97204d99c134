// The home folder RUN steps see during a build: it carries the host's npm registry settings, so
// `npm ci` in a Dockerfile reaches the registry the way `npm install` on the host does (same
// registry, same trusted CAs, e.g. a TLS-inspecting egress proxy's), while nothing of it lands in
// the image: it is bind-mounted over /root for RUN steps only.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { rootCertificates } from 'node:tls'
import { runCommand } from './command.ts'

/**
 * prepareBuildHome writes dir/.npmrc (the host npm's registry and, if it has one, its CA file,
 * plus $NODE_EXTRA_CA_CERTS) and returns the volume that mounts it as /root in RUN steps.
 * /root exists in every Debian image, so no mount point is created in the image; the Dockerfiles'
 * `rm -rf /root/.npm` then cleans this folder, not the image.
 */
export async function prepareBuildHome(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true })
  const settings = Object.fromEntries(
    (await runCommand('npm', ['config', 'get', 'registry', 'cafile'], { cwd: dir }))
      .split('\n')
      .map((line) => line.split('='))
      .filter(([key, value]) => key && value && value !== 'null' && value !== 'undefined')
      .map(([key, ...value]) => [key, value.join('=')]),
  ) as { registry?: string; cafile?: string }
  const read = (file: string | undefined) => (file && existsSync(file) ? [readFileSync(file, 'utf8')] : [])
  const extra = read(process.env.NODE_EXTRA_CA_CERTS)
  // A cafile replaces npm's default CAs, so extra CAs alone go in with Node's own roots.
  const base = settings.cafile ? read(settings.cafile) : extra.length > 0 ? rootCertificates : []
  const certificates = [...base, ...extra]
  const lines = [`registry=${settings.registry ?? 'https://registry.npmjs.org/'}`]
  if (certificates.length > 0) {
    writeFileSync(join(dir, 'registry-ca.pem'), certificates.join('\n'))
    lines.push('cafile=/root/registry-ca.pem')
  }
  writeFileSync(join(dir, '.npmrc'), `${lines.join('\n')}\n`)
  return `${dir}:/root`
}
