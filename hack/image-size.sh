#!/usr/bin/env bash
# Lays out each image's files without a container engine, as its Dockerfile does: production
# dependencies (npm ci --omit=dev -w <workspace>), pruned the same way, plus api/src and the
# workspace's sources. Then it measures them and runs the image's entrypoint with --help from that
# folder with Node 24, which proves the production install holds everything the program imports.
# The base image (node:24-slim less npm and corepack) is not measured here; add its size.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
node=${NODE:-$root/node_modules/.bin/node}
for ws in operator sidecar; do
  tmp=$(mktemp -d)
  cp "$root/package.json" "$root/package-lock.json" "$tmp/"
  for w in api operator sidecar; do mkdir -p "$tmp/$w" && cp "$root/$w/package.json" "$tmp/$w/"; done
  # As the Dockerfile does; where npm ci refuses the lock file (some registry mirrors list fewer
  # optional platform packages than the lock expects), npm install with the same lock stands in.
  how='npm ci'
  if ! (cd "$tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund -w api -w "$ws" >/dev/null 2>&1); then
    how='npm install'
    (cd "$tmp" && npm install --omit=dev --ignore-scripts --no-audit --no-fund -w api -w "$ws" >/dev/null 2>&1)
  fi
  find "$tmp/node_modules" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
    -o -name '*.map' -o -name '*.md' \) -delete # as the Dockerfile does
  # Apparent size: what the image layer (a tar of the files) holds.
  deps=$(du -sk --apparent-size "$tmp/node_modules" | cut -f1)
  (cd "$root" && find api/src "$ws/src" -type f ! -name '*.test.ts' ! -path '*/testdata/*' -print0 |
    xargs -0 cp --parents -t "$tmp")
  src=$(cd "$tmp" && du -sk --apparent-size api/src "$ws/src" | awk '{ s += $1 } END { print s }')
  printf '%-9s production node_modules %6.1f MB (%s), sources %5.2f MB\n' \
    "$ws" "$(echo "$deps/1024" | bc -l)" "$how" "$(echo "$src/1024" | bc -l)"
  if (cd "$tmp" && NODE_ENV=production "$node" "$ws/src/main.ts" --help >/dev/null 2>"$tmp/err"); then
    echo "$ws: $ws/src/main.ts --help runs from the production layout"
  else
    echo "$ws: $ws/src/main.ts --help FAILED from the production layout:" && cat "$tmp/err"
  fi
  rm -rf "$tmp"
done
