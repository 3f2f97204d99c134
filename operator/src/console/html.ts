/** html.ts: escaping and the page frame of the console. Pages are plain template strings. */

/** Html is text already escaped for HTML. */
export class Html {
  readonly text: string
  constructor(text: string) {
    this.text = text
  }
  toString(): string {
    return this.text
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** escapeHtml makes any value safe inside HTML text and attribute values. */
export const escapeHtml = (value: unknown): string =>
  String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c] as string)

/**
 * html is a tagged template that escapes every interpolated value except Html (and arrays of it),
 * so a page cannot forget to escape a tenant, model or user name.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? ''
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '')
  })
  return new Html(out)
}

function render(value: unknown): string {
  if (value instanceof Html) return value.text
  if (Array.isArray(value)) return value.map(render).join('')
  if (value === undefined || value === null || value === false) return ''
  return escapeHtml(value)
}

/** json embeds data for the page script: `<` is escaped so no `</script>` can end the block. */
export const json = (id: string, data: unknown): Html =>
  new Html(
    `<script type="application/json" id="${escapeHtml(id)}">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>`,
  )

/** page is the frame of every console page: navigation, the signed-in user, the main landmark. */
export function page(o: { title: string; user?: string; body: Html; current?: 'tenants' | 'feed' }): string {
  const nav = o.user
    ? html`<nav aria-label="Console">
        <a href="/tenants" ${o.current === 'tenants' ? new Html('aria-current="page"') : ''}>Tenants</a>
        <a href="/feed" ${o.current === 'feed' ? new Html('aria-current="page"') : ''}>Live feed</a>
        <span class="who">Signed in as <strong>${o.user}</strong></span>
        <form method="post" action="/sign-out" class="inline"><button type="submit">Sign out</button></form>
      </nav>`
    : ''
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(o.title)} · Tollgate</title>
<link rel="stylesheet" href="/static/console.css">
<script src="/static/chart.umd.min.js" defer></script>
<script src="/static/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><span class="brand">Tollgate</span>${nav}</header>
<main id="main" tabindex="-1">
${o.body}
</main>
</body>
</html>
`
}
