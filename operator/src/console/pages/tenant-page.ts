import type { Grouped } from '../../analytics/analytics-store.ts'
import type { TenantSummary } from '../../analytics/tenant-overview.ts'
import type { TenantReport } from '../../analytics/tenant-report.ts'
import { count, dimension, percent, usd } from '../format.ts'
import { type Html, html, json, page } from '../html.ts'
import { feedTable } from './feed-table.ts'

const groupedTable = (
  id: string,
  caption: string,
  first: string,
  rows: Grouped[],
  none?: string,
): Html => html`
<table id="${id}">
<caption>${caption}</caption>
<thead><tr><th scope="col">${first}</th><th scope="col">Spend</th><th scope="col">Calls</th><th scope="col">Tokens in</th><th scope="col">Tokens out</th><th scope="col">Cache hits</th></tr></thead>
<tbody>${
  rows.length
    ? rows.map(
        (r) =>
          html`<tr><th scope="row">${dimension(r.key, none)}</th><td>${usd(r.costNano)}</td><td>${count(r.requests)}</td><td>${count(r.inputTokens)}</td><td>${count(r.outputTokens)}</td><td>${count(r.cacheHits)}</td></tr>`,
      )
    : html`<tr><td colspan="6">No usage in this range.</td></tr>`
}</tbody>
</table>`

/** tenantPage is one tenant in detail: its budgets, charts and tables of its usage, refusals, sidecars, actions. */
export function tenantPage(o: {
  user: string
  summary: TenantSummary
  report: TenantReport
  range: { from: string; to: string; bucket: string }
  mayPurge: boolean
}): string {
  const { report: r, summary: t } = o
  const name = r.tenant
  const q = `tenant=${encodeURIComponent(name)}&from=${encodeURIComponent(r.from)}&to=${encodeURIComponent(r.to)}`
  const body = html`
<h1>Tenant ${name}</h1>
<p>Tier ${t.tier}; ${t.ready ? 'Ready' : 'not Ready'}${t.suspended ? '; suspended' : ''}; ${t.mediatedPods} mediated pods.</p>
<form method="get" class="range" aria-label="Range">
  <label for="from">From</label> <input id="from" name="from" value="${o.range.from}" placeholder="YYYY-MM-DD">
  <label for="to">To</label> <input id="to" name="to" value="${o.range.to}" placeholder="now">
  <label for="bucket">Buckets</label>
  <select id="bucket" name="bucket">${['hour', 'day', 'month'].map(
    (b) => html`<option ${b === o.range.bucket ? html`selected` : ''}>${b}</option>`,
  )}</select>
  <button type="submit">Show</button>
</form>

<section aria-labelledby="totals-h">
<h2 id="totals-h">Totals from ${r.from} to ${r.to}</h2>
<dl class="totals">
  <div><dt>Spend</dt><dd id="total-spend">${usd(r.totals.costNano)}</dd></div>
  <div><dt>Calls</dt><dd id="total-calls">${count(r.totals.requests)}</dd></div>
  <div><dt>Tokens in / out</dt><dd>${count(r.totals.inputTokens)} / ${count(r.totals.outputTokens)}</dd></div>
  <div><dt>Cache hit rate</dt><dd id="cache-hit-rate">${percent(r.totals.cacheHitRate)}</dd></div>
  <div><dt>Cache saved</dt><dd id="cache-saved">${usd(r.totals.cacheSavedNano)}</dd></div>
  <div><dt>Errors and refusals</dt><dd>${count(r.totals.errors)}</dd></div>
</dl>
<h3>Budgets</h3>
${
  t.budgets.length
    ? html`<ul>${t.budgets.map(
        (b) =>
          html`<li>${b.period}: $${b.costUSD}${b.limitUSD ? html` of $${b.limitUSD}, $${b.remainingUSD ?? '?'} left` : ''}; resets ${b.resetsAt}</li>`,
      )}</ul>`
    : html`<p>No budget.</p>`
}
</section>

<section aria-labelledby="charts-h">
<h2 id="charts-h">Spend</h2>
<div class="charts">
  <figure><canvas id="chart-spend" role="img" aria-label="Spend per ${r.bucket}; the same figures are in the tables below"></canvas><figcaption>Spend per ${r.bucket} (UTC)</figcaption></figure>
  <figure><canvas id="chart-model" role="img" aria-label="Spend by model; see the table By model"></canvas><figcaption>By model</figcaption></figure>
  <figure><canvas id="chart-workload" role="img" aria-label="Spend by workload; see the table By workload"></canvas><figcaption>By workload</figcaption></figure>
</div>
${json('report-data', { series: r.series, model: r.by.model, workload: r.by.workload })}
${groupedTable('by-model', 'By model', 'Model', r.by.model)}
${groupedTable('by-namespace', 'By namespace', 'Namespace', r.by.namespace)}
${groupedTable('by-workload', 'By workload', 'Workload', r.by.workload, '(not known)')}
${groupedTable('top-users', 'Top users', 'User', r.by.user)}
${groupedTable('by-provider', 'By provider (errors in the last column are provider and client errors)', 'Provider', r.by.provider)}
</section>

<section aria-labelledby="refusals-h">
<h2 id="refusals-h">Refusals</h2>
<table id="refusals-by-limit">
<caption>Refusals by limit in this range</caption>
<thead><tr><th scope="col">Limit</th><th scope="col">Refused calls</th></tr></thead>
<tbody>${
    r.refusals.byLimit.length
      ? r.refusals.byLimit.map(
          (l) => html`<tr><th scope="row">${l.limit}</th><td>${count(l.refusals)}</td></tr>`,
        )
      : html`<tr><td colspan="2">No refusals.</td></tr>`
  }</tbody>
</table>
<table id="recent-refusals">
<caption>Recent refusals</caption>
<thead><tr><th scope="col">Time</th><th scope="col">Limit that tripped</th><th scope="col">Status</th><th scope="col">Model</th><th scope="col">Workload</th><th scope="col">User</th></tr></thead>
<tbody>${
    r.refusals.recent.length
      ? r.refusals.recent.map(
          (x) =>
            html`<tr><td>${x.at}</td><th scope="row">${x.limit}</th><td>${x.status}</td><td>${x.model}</td><td>${dimension(x.workload, '(not known)')}</td><td>${dimension(x.user)}</td></tr>`,
        )
      : html`<tr><td colspan="6">No refusals.</td></tr>`
  }</tbody>
</table>
</section>

<section aria-labelledby="sidecars-h">
<h2 id="sidecars-h">Sidecars and providers</h2>
<p>${
    Object.keys(r.breakers).length
      ? html`Circuit breakers not closed: ${Object.entries(r.breakers).map(([k, v]) => html`<strong>${k}</strong> ${v} `)}`
      : 'Every circuit breaker is closed.'
  }</p>
<table id="sidecars">
<caption>Live sidecars (a heartbeat in the last 30 seconds)</caption>
<thead><tr><th scope="col">Instance</th><th scope="col">Namespace</th><th scope="col">Workload</th><th scope="col">Config version</th><th scope="col">Limits</th><th scope="col">Calls</th><th scope="col">Provider errors</th></tr></thead>
<tbody>${
    r.sidecars.length
      ? r.sidecars.map(
          (s) =>
            html`<tr><th scope="row">${s.instance}</th><td>${s.namespace}</td><td>${dimension(s.workload, '(not known)')}</td><td>${s.configVersion}</td><td>${s.limits === 'redis' ? 'shared (Redis)' : 'local (Redis away)'}</td><td>${count(s.calls)}</td><td>${count(s.providerErrors)}</td></tr>`,
        )
      : html`<tr><td colspan="7">No sidecar has reported.</td></tr>`
  }</tbody>
</table>
</section>

<section aria-labelledby="actions-h">
<h2 id="actions-h">Actions</h2>
<ul class="actions">
  <li><a href="/api/v1/usage?${q}&amp;format=csv" download="${name}-usage.csv">Download the CSV export</a></li>
  <li><a href="/api/v1/usage?${q}&amp;format=json" download="${name}-usage.json">Download the JSON export</a></li>
</ul>
${
  o.mayPurge
    ? html`<form data-purge="${name}" method="post" action="/api/v1/analytics/purge?tenant=${encodeURIComponent(name)}">
  <button type="submit" id="purge">Purge ${name}'s cache</button>
  <span id="purge-result" role="status"></span>
</form>`
    : html`<p id="purge-not-allowed">You may not purge this tenant's cache (it needs <code>patch</code> on <code>tenants/${name}</code>).</p>`
}
</section>

<section aria-labelledby="feed-h">
<h2 id="feed-h">Live feed</h2>
${feedTable([name], `Calls and budget events of ${name} as they happen`)}
</section>`
  return page({ title: `Tenant ${name}`, user: o.user, body, current: 'tenants' })
}
