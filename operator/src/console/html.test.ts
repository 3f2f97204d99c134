import { describe, expect, it } from 'vitest'
import { html, json } from './html.ts'

describe('html', () => {
  it('escapes every value but Html, so no name can inject markup', () => {
    const name = '<script>alert("x")</script>'
    expect(html`<td title="${name}">${name}</td>`.text).toBe(
      '<td title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</td>',
    )
    expect(html`<ul>${['a', 'b'].map((x) => html`<li>${x}</li>`)}</ul>`.text).toBe(
      '<ul><li>a</li><li>b</li></ul>',
    )
    expect(html`${undefined}${false}${0}`.text).toBe('0')
  })

  it('embeds JSON that cannot end its script block', () => {
    expect(json('d', { model: '</script><b>' }).text).toBe(
      '<script type="application/json" id="d">{"model":"\\u003c/script>\\u003cb>"}</script>',
    )
  })
})
