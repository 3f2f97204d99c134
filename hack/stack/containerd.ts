import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { NetworkNamespace } from './netns.ts'
import { ServerProcess, waitFor } from './process.ts'

/** Containerd is the node's container runtime: Debian's containerd 1.6 with runc. */
export interface Containerd {
  socket: string
  process: ServerProcess
  /** ctr runs the containerd client against this daemon. */
  ctr(...args: string[]): string
  /** importImages loads OCI archives into the namespace the kubelet uses. */
  importImages(archives: string[]): void
}

/**
 * startContainerd starts containerd inside the node's namespace with all state under dir. The CNI
 * config it reads is written by the caller into `cniConfDir`.
 */
export async function startContainerd(options: {
  dir: string
  netns: NetworkNamespace
  sandboxImage: string
  cniConfDir: string
}): Promise<Containerd> {
  const { dir, netns } = options
  mkdirSync(dir, { recursive: true })
  const socket = join(dir, 'containerd.sock')
  const config = join(dir, 'config.toml')
  writeFileSync(config, renderConfig(dir, socket, options.sandboxImage, options.cniConfDir))
  const process = new ServerProcess(
    'containerd',
    ...netns.inside('containerd', ['--config', config]),
    join(dir, 'containerd.log'),
  )
  const ctr = (...args: string[]) =>
    execFileSync('ctr', ['--address', socket, ...args], { stdio: 'pipe', maxBuffer: 64 << 20 }).toString()
  process.start()
  await waitFor(
    'containerd',
    async () => {
      if (!process.running) throw new Error(`containerd exited; see ${join(dir, 'containerd.log')}`)
      ctr('version')
      return true
    },
    30_000,
  )
  return {
    socket,
    process,
    ctr,
    importImages: (archives) => {
      for (const archive of archives) ctr('-n', 'k8s.io', 'images', 'import', archive)
    },
  }
}

/**
 * renderConfig is containerd 1.6's CRI config for this machine. Two settings are not defaults:
 * - restrict_oom_score_adj: the VM withholds CAP_SYS_RESOURCE, so the kubelet's oom_score_adj of
 *   -998 for sandboxes is refused and every pod fails with runc's "can't get final child's PID from
 *   pipe: EOF"; with it, containerd clamps each container's value to its own.
 * - cgroupfs (SystemdCgroup = false): there is no systemd to manage cgroups.
 */
function renderConfig(dir: string, socket: string, sandboxImage: string, cniConfDir: string): string {
  return `version = 2
root = "${join(dir, 'root')}"
state = "${join(dir, 'state')}"
oom_score = 0

[grpc]
  address = "${socket}"
[ttrpc]
  address = "${socket}.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "${join(dir, 'opt')}"

[plugins."io.containerd.grpc.v1.cri"]
  # Built locally (hack/images), never pulled: there is no registry.
  sandbox_image = "${sandboxImage}"
  enable_selinux = false
  restrict_oom_score_adj = true
  # Pod network namespaces are bind-mounted under the state folder, not /var/run/netns.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/bin/runc"
        Root = "${join(dir, 'runc')}"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${cniConfDir}"
    max_conf_num = 1
`
}
