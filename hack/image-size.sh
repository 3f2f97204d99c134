#!/usr/bin/env bash
# Estimates the size of the Tollgate images without a container engine: installs each image's
# production dependencies exactly as its Dockerfile does (npm ci --omit=dev -w <workspace>) into a
# temporary folder and measures them with du, together with the sources the image copies.
# The base image (node:24-slim, less npm and corepack) is not measured here; add its published size.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
for ws in operator sidecar; do
  tmp=$(mktemp -d)
  cp "$root/package.json" "$root/package-lock.json" "$tmp/"
  for w in api operator sidecar; do mkdir -p "$tmp/$w" && cp "$root/$w/package.json" "$tmp/$w/"; done
  # As the Dockerfile does; where npm ci refuses the lock file (some registry mirrors list fewer
  # optional platform packages than the lock expects), npm install with the same lock stands in.
  how='npm ci'
  if ! (cd "$tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund -w "$ws" >/dev/null 2>&1); then
    how='npm install'
    (cd "$tmp" && npm install --omit=dev --ignore-scripts --no-audit --no-fund -w "$ws" >/dev/null 2>&1)
  fi
  find "$tmp/node_modules" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
    -o -name '*.map' -o -name '*.md' \) -delete   # as the Dockerfile does
  # Apparent size: what the image layer (a tar of the files) holds.
  deps=$(du -sk --apparent-size "$tmp/node_modules" | cut -f1)
  src=$(cd "$root" && find api/src "$ws/src" -name '*.ts' ! -name '*.test.ts' ! -path '*/testdata/*' -print0 | du -ck --apparent-size --files0-from=- | tail -1 | cut -f1)
  printf '%-9s production node_modules %6.1f MB (%s), sources %5.2f MB\n' \
    "$ws" "$(echo "$deps/1024" | bc -l)" "$how" "$(echo "$src/1024" | bc -l)"
  rm -rf "$tmp"
done
