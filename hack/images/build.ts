// Builds or reuses the project's container images and prints one line per image:
//   node hack/images/build.ts [--only a,b]
// name, ref, unpacked size in MB, and the seconds the build took (0 when the archive was reused).
// Progress goes to stderr; the archives are in $TOLLGATE_IMAGE_DIR (default ~/.cache/tollgate/images).
import { parseArgs } from 'node:util'
import { buildImages, IMAGE_NAMES } from './images.ts'

const USAGE = `usage: node hack/images/build.ts [--only NAME,...]
  --only NAMES   build only these (and the images they are built FROM); known: ${IMAGE_NAMES.join(', ')}`

let values: { only?: string; help?: boolean }
try {
  values = parseArgs({
    options: { only: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  }).values
} catch (error) {
  console.error(`images: ${(error as Error).message}\n${USAGE}`)
  process.exit(2)
}
if (values.help) {
  console.log(USAGE)
  process.exit(0)
}

const started = performance.now()
try {
  const outcomes = await buildImages({
    ...(values.only && { only: values.only.split(',').filter(Boolean) }),
    log: (line) => console.error(`images: ${line}`),
  })
  for (const { image, built, seconds } of outcomes) {
    const mb = (image.bytes / 1e6).toFixed(1)
    const took = built ? seconds.toFixed(1) : '0'
    console.log(`${image.name.padEnd(14)} ${image.ref.padEnd(48)} ${mb.padStart(7)} MB ${took.padStart(6)} s`)
  }
  console.error(`images: done in ${((performance.now() - started) / 1000).toFixed(2)} s`)
} catch (error) {
  const cause = (error as Error).cause
  console.error(`images: ${(error as Error).message}${cause ? `: ${(cause as Error).message}` : ''}`)
  process.exit(1)
}
