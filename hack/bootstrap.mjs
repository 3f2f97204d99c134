// Dependency-free first-run set-up for `npm start`, `npm test` and `npm run env:up`. It runs on
// whatever Node the machine has (before node_modules brings Node 24) and installs or builds only
// what is missing, so a warm run costs a few stat calls:
//   start: node_modules
//   test, env, cluster: node_modules, Debian packages (redis-server, etcd-server, postgresql,
//              openssl, chromium for the console's browser tests; for the images: buildah,
//              skopeo, mmdebstrap, jq, gcc, libc6-dev; for the
//              real node: containerd, runc, the CNI plugins, iptables, ipset, conntrack, socat),
//              the Kubernetes binaries, CoreDNS, helm and kube-router built by hack/build-k8s.sh
//              into ~/.cache/tollgate/bin
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { delimiter, join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const mode = process.argv[2] ?? 'test'
const isRoot = process.getuid?.() === 0

function run(command, args, options = {}) {
  console.error(`bootstrap: ${command} ${args.join(' ')}`)
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, ...options })
  if (result.status !== 0)
    fail(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`)
}

function fail(message) {
  console.error(`bootstrap: ${message}`)
  process.exit(1)
}

const onPath = (name) => process.env.PATH.split(delimiter).some((dir) => existsSync(join(dir, name)))
const mtime = (path) => (existsSync(path) ? statSync(path).mtimeMs : 0)

function nodeModules() {
  const installed = join(root, 'node_modules/.package-lock.json')
  if (
    existsSync(join(root, 'node_modules/.bin/node')) &&
    mtime(installed) >= mtime(join(root, 'package-lock.json'))
  )
    return
  // `npm install`, not `npm ci`: npm 11.19 writes lock files without other platforms' optional
  // packages (@biomejs/cli-darwin-*, ...) and then its own `npm ci` refuses them as out of sync
  // (npm/cli#4828 and kin). `npm install` still installs the locked versions.
  run('npm', ['install', '--no-audit', '--no-fund'])
}

function debianPackages() {
  const postgres =
    existsSync('/usr/lib/postgresql') &&
    readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`))
  const missing = [
    ['redis-server', onPath('redis-server')],
    ['etcd-server', onPath('etcd')],
    ['postgresql', postgres],
    ['openssl', onPath('openssl')],
    // the console's browser tests (test/console): Playwright drives Debian's headless chromium
    ['chromium', onPath('chromium')],
    // hack/images: images built without a container engine
    ...['buildah', 'skopeo', 'mmdebstrap', 'jq', 'gcc'].map((cmd) => [cmd, onPath(cmd)]),
    ['libc6-dev', existsSync('/usr/include/stdio.h')],
    // The real node of the cluster stack (hack/stack/cluster.ts); runc runs the images' RUN steps too.
    ['containerd', onPath('containerd')],
    ['runc', onPath('runc') || existsSync('/usr/sbin/runc')],
    ['containernetworking-plugins', existsSync('/usr/lib/cni/bridge')],
    ['iptables', onPath('iptables')],
    // kube-router's NetworkPolicy controller keeps the pods' addresses in ipsets.
    ['ipset', onPath('ipset')],
    ['conntrack', onPath('conntrack')],
    ['socat', onPath('socat')],
  ]
    .filter(([, present]) => !present)
    .map(([pkg]) => pkg)
  if (missing.length === 0) return
  const install = ['install', '-y', '--no-install-recommends', ...missing]
  if (!isRoot) fail(`missing Debian packages; run: sudo apt-get update && sudo apt-get ${install.join(' ')}`)
  run('apt-get', ['update', '-qq'])
  run('apt-get', install, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
}

function kubernetesBinaries() {
  if (!onPath('go') && existsSync('/usr/local/go/bin')) process.env.PATH += `${delimiter}/usr/local/go/bin`
  if (!onPath('go'))
    fail('Go (1.24 or newer) is needed to build kube-apiserver, kubectl and helm; put `go` on PATH')
  try {
    execFileSync('bash', [join(root, 'hack/build-k8s.sh')], { stdio: ['ignore', 'ignore', 'inherit'] })
  } catch {
    fail('building kube-apiserver, kubectl or helm failed (see above)')
  }
}

nodeModules()
if (mode === 'test' || mode === 'env' || mode === 'cluster') {
  debianPackages()
  kubernetesBinaries()
} else if (mode !== 'start') {
  fail(`unknown mode ${mode}: start | test | env | cluster`)
}
