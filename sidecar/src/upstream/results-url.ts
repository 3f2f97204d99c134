/** Bodies larger than this go to the client as they are (a list of batches is far smaller). */
export const MAX_REWRITE_BYTES = 4 << 20

/**
 * rewriteResultsUrls points the `results_url` of Anthropic message batches (the batch object, or
 * each of a list's `data`) at the sidecar instead of the provider, so that the SDK, which fetches
 * the results from that URL as given, reads them through the sidecar with the sidecar's key
 * instead of calling the provider with the app's placeholder. Only URLs under the provider's base
 * (`from`) change; anything unreadable is passed on unchanged.
 */
export function rewriteResultsUrls(body: Buffer, from: string, to: string): Buffer {
  let doc: unknown
  try {
    doc = JSON.parse(body.toString('utf8'))
  } catch {
    return body
  }
  let changed = false
  const fix = (batch: unknown) => {
    const b = batch as { results_url?: unknown }
    if (b && typeof b === 'object' && typeof b.results_url === 'string' && b.results_url.startsWith(from)) {
      b.results_url = to + b.results_url.slice(from.length)
      changed = true
    }
  }
  fix(doc)
  const data = (doc as { data?: unknown })?.data
  if (Array.isArray(data)) for (const batch of data) fix(batch)
  return changed ? Buffer.from(JSON.stringify(doc)) : body
}
