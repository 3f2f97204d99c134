// Every image the project builds, in build order (an image comes after those it is built FROM).
import { debianImage } from './debian-image.ts'
import { nodeImage } from './node-image.ts'
import { dockerfileImage, type ImageRecipe } from './recipe.ts'
import { corednsImage, pauseImage } from './static-images.ts'

const node = { NODE_IMAGE: 'node' }
const debian = { DEBIAN_IMAGE: 'debian' }
/** image is an image built by buildah from a Dockerfile and its context (paths from the repository root). */
const image = (name: string, dockerfile: string, context: string, from: Record<string, string>) =>
  dockerfileImage({ name, dockerfile, context, from })

/** IMAGES are the recipes, one line each. */
export const IMAGES: readonly ImageRecipe[] = [
  debianImage, // Debian bookworm minbase by mmdebstrap; every Debian-based image builds FROM it
  nodeImage, // debian + Node 24 + npm, standing in for node:24-slim
  image('operator', 'Dockerfile.operator', '.', node), // tollgate-operator
  image('sidecar', 'Dockerfile.sidecar', '.', node), // tollgate-sidecar
  image('redis', 'hack/images/redis/Dockerfile', 'hack/images/redis', debian), // the chart's bundled Redis
  image('postgres', 'hack/images/postgres/Dockerfile', 'hack/images/postgres', debian), // its Postgres
  image('fake-provider', 'hack/images/fake-provider/Dockerfile', '.', node), // test/fake-provider
  image('sample-app', 'examples/sample-app/Dockerfile', 'examples/sample-app', node), // calls both SDKs
  pauseImage, // the pod sandbox: a static C binary
  corednsImage, // the cluster DNS: the static CoreDNS that hack/build-k8s.sh builds
]
