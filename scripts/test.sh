#!/usr/bin/env bash
# The whole test suite: formatting, vet, and every test with the race
# detector. README.md documents it; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" $unformatted >&2
  exit 1
fi
go vet ./...

# The community Braze client that cmd/brazen's TestNodeClient drives (it
# skips, saying so, where Node.js is missing; CI installs Node.js).
if command -v npm >/dev/null 2>&1 && [ ! -d clients/node/node_modules/braze-api ]; then
  (cd clients/node && npm ci --no-audit --no-fund --loglevel=error)
fi

go test -race -count=1 "$@" ./...
