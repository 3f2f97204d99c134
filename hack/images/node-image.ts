// node: the debian base plus the Node 24 binary that npm installed for this repository (the `node`
// package) and npm from the npm registry, built with buildah from hack/images/node/Dockerfile.
import { existsSync } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { runCommand } from './command.ts'
import { buildDockerfile, type DockerfileSpec, type ImageRecipe } from './recipe.ts'

/** NPM_VERSION is the npm the image carries: the newest 11.x, the major Node 24 ships with. */
const NPM_VERSION = '11.21.2'
/** NODE_BINARY is the Node 24 the `node` package (devDependency `node@^24`) installs: bin/node, a link to its linux-x64 build (the build's own folder is gone after a reinstall). */
const NODE_BINARY = 'node_modules/node/bin/node'
const DOCKERFILE = 'hack/images/node/Dockerfile'

/** nodeImage is the recipe of the Node base. */
export const nodeImage: ImageRecipe = {
  name: 'node',
  needs: ['debian'],
  hash: (input, env) => {
    input
      .file('Dockerfile', join(env.root, DOCKERFILE))
      .file('node', join(env.root, NODE_BINARY))
      .text('strip', '--strip-debug')
      .text('npm', NPM_VERSION)
  },
  build: async (ctx) => {
    const context = ctx.cache.path('contexts', 'node')
    await rm(context, { recursive: true, force: true })
    await mkdir(join(context, 'npm'), { recursive: true })
    // Debug info is 3 MB of the binary and of no use in a container; the symbols stay for profilers.
    await runCommand('strip', ['--strip-debug', '-o', join(context, 'node'), join(ctx.root, NODE_BINARY)])
    const downloads = ctx.cache.path('downloads')
    const tarball = join(downloads, `npm-${NPM_VERSION}.tgz`)
    if (!existsSync(tarball)) {
      ctx.log(`node: npm pack npm@${NPM_VERSION}`)
      await mkdir(downloads, { recursive: true })
      await runCommand('npm', ['pack', '--silent', `npm@${NPM_VERSION}`, '--pack-destination', downloads], {
        cwd: downloads,
        logFile: ctx.logFile,
      })
    }
    await runCommand('tar', [
      '-xzf',
      tarball,
      '-C',
      join(context, 'npm'),
      '--strip-components=1',
      '--no-same-owner',
    ])
    const spec: DockerfileSpec = {
      name: 'node',
      dockerfile: DOCKERFILE,
      context,
      from: { DEBIAN_IMAGE: 'debian' },
    }
    try {
      await buildDockerfile(ctx, spec)
    } finally {
      await rm(context, { recursive: true, force: true })
    }
  },
}
