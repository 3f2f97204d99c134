// pause and coredns: one static binary each, packed as a one-layer image without buildah.
import { existsSync, realpathSync } from 'node:fs'
import { chmod, copyFile, mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runCommand } from './command.ts'
import { type ImageConfig, packImage, tarDirectory } from './oci-archive.ts'
import type { BuildContext, ImageRecipe } from './recipe.ts'

const PAUSE_SOURCE = 'hack/images/pause/pause.c'
const PAUSE_FLAGS = ['-static', '-Os', '-s', '-Wall', '-Wextra', '-Werror']

/** packRootfs fills a fresh folder with populate, then packs it as the image's one layer. */
async function packRootfs(
  ctx: BuildContext,
  populate: (rootfs: string) => Promise<void>,
  config: ImageConfig,
): Promise<void> {
  const work = ctx.cache.path('tmp', ctx.name)
  await rm(work, { recursive: true, force: true })
  const rootfs = join(work, 'rootfs')
  await mkdir(rootfs, { recursive: true })
  try {
    await populate(rootfs)
    await tarDirectory(rootfs, join(work, 'layer.tar'))
    await packImage({
      layer: join(work, 'layer.tar'),
      ref: ctx.ref,
      out: ctx.archive,
      config,
      createdBy: `hack/images ${ctx.name}`,
    })
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

/** pauseImage is the pod sandbox image: hack/images/pause/pause.c, static, as uid 65535 like Kubernetes' own. */
export const pauseImage: ImageRecipe = {
  name: 'pause',
  needs: [],
  hash: (input, env) =>
    input.file('pause.c', join(env.root, PAUSE_SOURCE)).text('gcc', PAUSE_FLAGS.join(' ')),
  build: (ctx) =>
    packRootfs(
      ctx,
      async (rootfs) => {
        ctx.log('pause: gcc -static')
        await runCommand('gcc', [...PAUSE_FLAGS, '-o', join(rootfs, 'pause'), join(ctx.root, PAUSE_SOURCE)], {
          logFile: ctx.logFile,
        })
      },
      { Entrypoint: ['/pause'], User: '65535:65535', WorkingDir: '/' },
    ),
}

/**
 * corednsImage is CoreDNS as hack/build-k8s.sh builds it (static, CGO_ENABLED=0). It runs as root,
 * like the images CoreDNS's own manifests expect when they add only NET_BIND_SERVICE for port 53;
 * /etc/passwd is there for tools that look the user up.
 */
export const corednsImage: ImageRecipe = {
  name: 'coredns',
  needs: [],
  hash: (input, env) => input.file('coredns', corednsBinary(env.binDir)),
  build: (ctx) =>
    packRootfs(
      ctx,
      async (rootfs) => {
        await copyFile(corednsBinary(ctx.binDir), join(rootfs, 'coredns'))
        await chmod(join(rootfs, 'coredns'), 0o755)
        await mkdir(join(rootfs, 'etc'))
        await writeFile(
          join(rootfs, 'etc/passwd'),
          'root:x:0:0:root:/:/coredns\nnonroot:x:65532:65532::/:/coredns\n',
        )
        await writeFile(join(rootfs, 'etc/group'), 'root:x:0:\nnonroot:x:65532:\n')
        await mkdir(join(rootfs, 'tmp'))
        await chmod(join(rootfs, 'tmp'), 0o1777)
      },
      { Entrypoint: ['/coredns'], WorkingDir: '/', ExposedPorts: { '53/tcp': {}, '53/udp': {} } },
    ),
}

/** corednsBinary is the CoreDNS build in binDir (`coredns` links to the versioned file). */
function corednsBinary(binDir: string): string {
  const link = join(binDir, 'coredns')
  if (!existsSync(link))
    throw new Error(`no CoreDNS in ${binDir}: hack/build-k8s.sh builds it (npm run images runs it)`)
  return realpathSync(link)
}
