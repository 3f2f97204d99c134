import type { TenantSummary } from '../../analytics/tenant-overview.ts'
import { count, usd } from '../format.ts'
import { html, page } from '../html.ts'

const limitText = (l: TenantSummary['limits']) => {
  const parts = [
    l.requestsPerMinute !== undefined && `${count(l.requestsPerMinute)} req/min`,
    l.tokensPerMinute !== undefined && `${count(l.tokensPerMinute)} tok/min`,
    l.tokensPerDay !== undefined && `${count(l.tokensPerDay)} tok/day`,
    l.concurrency !== undefined && `${l.concurrency} in flight`,
  ].filter(Boolean)
  return parts.length ? parts.join(', ') : 'tier defaults'
}

/** isHealthy: Ready, Accepted and Synced are good when True; Suspended and the budget conditions when not. */
const isHealthy = (c: { type: string; status: string }) =>
  ['Ready', 'Accepted', 'Synced'].includes(c.type) ? c.status === 'True' : c.status !== 'True'

/** tenantsPage is the overview: each tenant's spend against its budgets, limits, conditions and pods. */
export function tenantsPage(o: { user: string; tenants: TenantSummary[]; day: string }): string {
  const rows = o.tenants.map(
    (t) => html`<tr>
  <th scope="row"><a href="/tenants/${encodeURIComponent(t.name)}">${t.name}</a></th>
  <td>${t.tier}</td>
  <td data-spend="${t.name}">${usd(t.usage.costNano)}</td>
  <td>${count(t.usage.requests)}</td>
  <td>${
    t.budgets.length
      ? t.budgets.map(
          (b) => html`<div class="budget">
        <span>${b.period}: $${b.costUSD}${b.limitUSD ? html` of $${b.limitUSD}` : ''}</span>
        ${
          b.limitUSD
            ? html`<meter min="0" max="${b.limitUSD}" value="${Math.min(Number(b.costUSD), Number(b.limitUSD))}" high="${Number(b.limitUSD) * 0.8}" aria-label="${t.name} ${b.period} budget used">${b.costUSD}</meter>`
            : ''
        }
      </div>`,
        )
      : 'no budget'
  }</td>
  <td>${limitText(t.limits)}</td>
  <td>${
    t.conditions.length
      ? t.conditions.map(
          (c) =>
            html`<span class="condition ${isHealthy(c) ? 'true' : 'false'}" title="${c.message ?? ''}">${c.type}=${c.status}</span> `,
        )
      : 'none yet'
  }${t.suspended ? html` <strong class="condition false">suspended</strong>` : ''}</td>
  <td>${t.mediatedPods}</td>
</tr>`,
  )
  const body = html`
<h1>Tenants</h1>
<p>Spend and calls are today's (UTC, ${o.day}) from the usage ledger; budgets are the current periods as the operator last wrote them into each Tenant's status.</p>
${
  o.tenants.length === 0
    ? html`<p>You may read no tenant. Ask for <code>get</code> on <code>tenants.tollgate.dev</code>.</p>`
    : html`<table>
<caption>Tenants you may read</caption>
<thead><tr><th scope="col">Tenant</th><th scope="col">Tier</th><th scope="col">Spend today</th><th scope="col">Calls today</th><th scope="col">Budgets</th><th scope="col">Limits</th><th scope="col">Conditions</th><th scope="col">Mediated pods</th></tr></thead>
<tbody>${rows}</tbody>
</table>`
}`
  return page({ title: 'Tenants', user: o.user, body, current: 'tenants' })
}
