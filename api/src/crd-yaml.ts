import { stringify } from 'yaml'
import { customResourceDefinition, KINDS } from './crd.ts'
import { GROUP } from './resources.ts'

const HEADER = '# Generated from api/src by `npm run crds`. Do not edit.\n'

/** renderCRDs returns the checked-in CRD files: name and exact text. */
export function renderCRDs(): { file: string; text: string }[] {
  return KINDS.map((info) => ({
    file: `${GROUP}_${info.plural}.yaml`,
    text: HEADER + stringify(customResourceDefinition(info), { lineWidth: 0 }),
  }))
}
