import { html, page } from '../html.ts'
import { feedTable } from './feed-table.ts'

/** feedPage is the live feed of every tenant the user may read (or one, with ?tenant=). */
export function feedPage(o: { user: string; tenants: string[] }): string {
  const body = html`
<h1>Live feed</h1>
<p>Calls and budget events as the sidecars report them${o.tenants.length === 1 ? html`, of tenant <strong>${o.tenants[0]}</strong>` : ''}. The newest is on top.</p>
${
  o.tenants.length
    ? feedTable(o.tenants, 'Live calls and budget events')
    : html`<p>You may read no tenant.</p>`
}`
  return page({ title: 'Live feed', user: o.user, body, current: 'feed' })
}
