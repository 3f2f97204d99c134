import { html, page } from '../html.ts'

/** signInPage asks for a bearer token (`kubectl create token`), with the error of a failed try. */
export function signInPage(o: { error?: string; next?: string; proxy?: boolean }): string {
  const body = html`
<h1>Sign in to Tollgate</h1>
${o.error ? html`<p class="error" role="alert">${o.error}</p>` : ''}
${
  o.proxy
    ? html`<p>This console is behind an authenticating proxy: sign in there, then reload.</p>`
    : html`<form method="post" action="/sign-in" class="sign-in">
  <p>Paste a Kubernetes bearer token. What you see is what your RBAC lets you <code>get</code>:</p>
  <pre><code>kubectl create token my-service-account --duration 8h</code></pre>
  <label for="token">Bearer token</label>
  <input id="token" name="token" type="password" autocomplete="off" required autofocus>
  <input type="hidden" name="next" value="${o.next ?? '/tenants'}">
  <button type="submit">Sign in</button>
</form>`
}`
  return page({ title: 'Sign in', body })
}
