#!/usr/bin/env bash
# Runs every test ramp has, on a fresh clone: installs what the tests need, then vet, the full test suite, the
# race detector and a short fuzzing pass over every Fuzz target. CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

if ! command -v go >/dev/null 2>&1; then
	echo "ramp needs Go 1.26 or later on PATH (https://go.dev/dl/)" >&2
	exit 1
fi

log "go mod download"
go mod download

log "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

log "go vet"
go vet ./...

log "go test"
go test -count=1 ./...

log "go test -race (short mode)"
go test -race -short -count=1 ./...

fuzztime=${RAMP_FUZZTIME:-10s}
log "fuzzing each target for $fuzztime"
for file in $(git ls-files '*_test.go' 2>/dev/null || find . -name '*_test.go'); do
	for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
		echo "-- $target ($(dirname "$file"))"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "./$(dirname "$file")" 2>&1 | tail -n 3
	done
done

log "all tests passed"
