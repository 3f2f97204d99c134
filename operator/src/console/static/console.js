// Tollgate console: the small script of the server-rendered pages. It draws the charts from the
// JSON the page embeds (Chart.js, served from the operator's node_modules), follows the live feed
// over Server-Sent Events, and sends the cache purge. Everything it shows is also in the tables.

const usd = (nano) => `$${(nano / 1e9).toFixed(6).replace(/\.?0+$/, '')}`

function drawCharts() {
  const data = document.getElementById('report-data')
  if (!data || typeof Chart === 'undefined') return
  const report = JSON.parse(data.textContent)
  const ink = '#1b1f24'
  Chart.defaults.color = ink
  const spend = document.getElementById('chart-spend')
  if (spend)
    new Chart(spend, {
      type: 'line',
      data: {
        labels: report.series.map((p) => p.start.replace(':00:00.000Z', 'h').replace('T00h', '')),
        datasets: [
          {
            label: 'Spend (USD)',
            data: report.series.map((p) => p.costNano / 1e9),
            borderColor: '#0b57d0',
            backgroundColor: '#0b57d0',
          },
        ],
      },
      options: { animation: false, plugins: { tooltip: { callbacks: { label: (c) => usd(c.raw * 1e9) } } } },
    })
  for (const [id, rows, color] of [
    ['chart-model', report.model, '#1a7f37'],
    ['chart-workload', report.workload, '#8250df'],
  ]) {
    const canvas = document.getElementById(id)
    if (!canvas) continue
    new Chart(canvas, {
      type: 'bar',
      data: {
        labels: rows.map((r) => r.key || '(not known)'),
        datasets: [{ label: 'Spend (USD)', data: rows.map((r) => r.costNano / 1e9), backgroundColor: color }],
      },
      options: { animation: false, indexAxis: 'y' },
    })
  }
}

function followFeed() {
  const table = document.querySelector('[data-feed-tenants]')
  if (!table) return
  const body = table.querySelector('tbody')
  const state = document.getElementById('feed-state')
  const tenants = table.dataset.feedTenants.split(',').filter(Boolean)
  let open = 0
  const cell = (tr, text) => {
    const td = document.createElement('td')
    td.textContent = text
    tr.appendChild(td)
  }
  for (const tenant of tenants) {
    const source = new EventSource(`/api/v1/analytics/feed?tenant=${encodeURIComponent(tenant)}`)
    source.addEventListener('open', () => {
      open++
      state.textContent = `Following ${open} of ${tenants.length} feed${tenants.length > 1 ? 's' : ''}.`
    })
    source.addEventListener('error', () => {
      state.textContent = 'The live feed is interrupted; reconnecting…'
    })
    source.addEventListener('unavailable', () => {
      state.textContent = 'Redis is unavailable: the live feed resumes when it is back.'
    })
    const add = (event) => {
      const e = JSON.parse(event.data)
      const tr = document.createElement('tr')
      tr.dataset.id = event.lastEventId
      cell(tr, new Date(e.at).toISOString().replace('T', ' ').slice(0, 19))
      cell(tr, tenant)
      if (e.type === 'budget') {
        cell(tr, `budget ${e.period} at ${Math.round(e.threshold * 100)}%`)
        for (let i = 0; i < 4; i++) cell(tr, '')
        cell(tr, `${usd(e.spendNano)} of ${usd(e.limitNano)}`)
        cell(tr, '')
      } else {
        cell(tr, e.refusedBy ? `refused: ${e.refusedBy}` : e.cacheHit ? 'cache hit' : 'call')
        cell(tr, e.model)
        cell(tr, e.workload || '(not known)')
        cell(tr, e.user || '')
        cell(tr, String(e.status))
        cell(tr, `${e.inputTokens}/${e.outputTokens}`)
        cell(tr, usd(e.costNano))
        if (e.refusedBy) tr.className = 'refused'
      }
      body.prepend(tr)
      while (body.rows.length > 200) body.deleteRow(-1)
    }
    source.addEventListener('call', add)
    source.addEventListener('budget', add)
  }
}

function purgeForms() {
  for (const form of document.querySelectorAll('form[data-purge]')) {
    form.addEventListener('submit', async (event) => {
      event.preventDefault()
      const result = form.querySelector('[role="status"]')
      result.textContent = 'Purging…'
      const response = await fetch(form.action, { method: 'POST', headers: { 'x-tollgate-console': '1' } })
      const answer = await response.json().catch(() => ({}))
      result.textContent = response.ok
        ? `Purged (${answer.purged}).`
        : `Not purged: ${answer.error?.message ?? response.statusText}`
    })
  }
}

document.addEventListener('DOMContentLoaded', () => {
  drawCharts()
  followFeed()
  purgeForms()
})
