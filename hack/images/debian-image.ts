// debian: Debian bookworm, minbase variant, made by mmdebstrap from the host's apt sources and
// packed as a one-layer OCI image. Every Debian-based image here builds FROM it.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { runCommand } from './command.ts'
import { packImage } from './oci-archive.ts'
import type { ImageRecipe } from './recipe.ts'

const SUITE = 'bookworm'
const APT_CONF = 'hack/images/debian/apt-container.conf'

/**
 * MMDEBSTRAP_OPTIONS shape the root filesystem like Docker's debian:bookworm-slim: no manuals,
 * docs (copyright notices stay), info pages or translations, also for packages installed later
 * (the dpkg options stay in /etc/dpkg/dpkg.cfg.d/99mmdebstrap).
 */
const MMDEBSTRAP_OPTIONS = [
  '--variant=minbase',
  '--mode=root',
  '--format=tar',
  // Merged /usr set up by mmdebstrap itself, so apt does not pull in usrmerge and with it Perl.
  '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
  // No device nodes in the layer: every container runtime makes its own /dev.
  '--skip=output/dev',
  ...[
    'path-exclude=/usr/share/man/*',
    'path-exclude=/usr/share/doc/*',
    'path-include=/usr/share/doc/*/copyright',
    'path-exclude=/usr/share/groff/*',
    'path-exclude=/usr/share/info/*',
    'path-exclude=/usr/share/lintian/*',
    'path-exclude=/usr/share/linda/*',
    'path-exclude=/usr/share/locale/*',
  ].map((option) => `--dpkgopt=${option}`),
]

/**
 * finishingHooks run last. APT_CONF comes in only now, so that it rules the images' apt-get and
 * not mmdebstrap's; with it, mmdebstrap's own clean-up no longer knows apt's binary caches, so
 * they go here. mmdebstrap also copies the host's resolv.conf and hostname in: a container gets
 * its own.
 */
const finishingHooks = (root: string) => [
  `--customize-hook=upload ${join(root, APT_CONF)} /etc/apt/apt.conf.d/docker-clean`,
  '--customize-hook=rm -f "$1/etc/resolv.conf" "$1/etc/hostname" "$1"/var/cache/apt/*.bin',
]

/** hostSources are the host's enabled apt source files, which the image gets as they are. */
export function hostSources(): string[] {
  const dir = '/etc/apt/sources.list.d'
  const list = '/etc/apt/sources.list'
  const hasEntries = (file: string) => /^\s*[^#\s]/m.test(readFileSync(file, 'utf8'))
  const files = [
    ...(existsSync(list) ? [list] : []),
    ...(existsSync(dir)
      ? readdirSync(dir)
          .filter((name) => name.endsWith('.list') || name.endsWith('.sources'))
          .sort()
          .map((name) => join(dir, name))
      : []),
  ].filter(hasEntries)
  if (files.length === 0) throw new Error('no apt sources on this host (/etc/apt/sources.list{,.d})')
  return files
}

/** debianImage is the recipe of the Debian base. */
export const debianImage: ImageRecipe = {
  name: 'debian',
  needs: [],
  hash: (input, env) => {
    input
      .text('suite', SUITE)
      .text('mmdebstrap', MMDEBSTRAP_OPTIONS.join('\n'))
      .file('apt.conf', join(env.root, APT_CONF))
    for (const file of hostSources()) input.file('apt-source', file)
  },
  build: async (ctx) => {
    const work = ctx.cache.path('tmp', 'debian')
    await rm(work, { recursive: true, force: true })
    await mkdir(work, { recursive: true })
    const rootfs = join(work, 'rootfs.tar')
    try {
      ctx.log(`debian: mmdebstrap ${SUITE} (minbase)`)
      await runCommand(
        'mmdebstrap',
        [...MMDEBSTRAP_OPTIONS, ...finishingHooks(ctx.root), SUITE, rootfs, ...hostSources()],
        {
          logFile: ctx.logFile,
          onLine: (line) => {
            if (/^I: (running apt-get update|downloading|installing|success)/.test(line))
              ctx.log(`debian: ${line.slice(3)}`)
          },
        },
      )
      await packImage({
        layer: rootfs,
        ref: ctx.ref,
        out: ctx.archive,
        createdBy: `mmdebstrap --variant=minbase ${SUITE}`,
        config: {
          Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
          Cmd: ['bash'],
        },
      })
    } finally {
      await rm(work, { recursive: true, force: true })
    }
  },
}
