import { html } from '../html.ts'

/**
 * feedTable is the live feed's table for one or more tenants: console.js opens an EventSource per
 * tenant (`data-feed-tenants`) and puts each call and budget event at the top, newest first.
 */
export const feedTable = (tenants: string[], caption: string) => html`
<table class="feed" data-feed-tenants="${tenants.join(',')}" aria-describedby="feed-state">
<caption>${caption}</caption>
<thead><tr><th scope="col">Time</th><th scope="col">Tenant</th><th scope="col">Event</th><th scope="col">Model</th><th scope="col">Workload</th><th scope="col">User</th><th scope="col">Status</th><th scope="col">Tokens in/out</th><th scope="col">Cost</th></tr></thead>
<tbody role="log" aria-live="polite" aria-relevant="additions"></tbody>
</table>
<p id="feed-state" class="muted" role="status">Connecting to the live feed…</p>`
