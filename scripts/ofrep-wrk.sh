#!/usr/bin/env bash
# OFREP throughput (issue 4): wrk -t2 -c64 against POST /ofrep/v1/evaluate/flags/rules-flag on `ramp serve`,
# with rotating targetingKeys (scripts/ofrep-wrk.lua), in the same run as a bare net/http handler that returns a
# fixed JSON body. The runs alternate (bare, ramp, bare, ramp, ...) so both see the same machine.
#
#   scripts/ofrep-wrk.sh [duration, default 15s] [rounds, default 2]
#
# On a shared machine the neighbours' load changes from one run to the next: use more, shorter rounds (say 5s 12)
# and read the mean.
set -euo pipefail
dur=${1:-15s}
rounds=${2:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

(cd "$root" && go build -o "$tmp/ramp-ofrep-bench" ./cmd/ramp)
mkdir "$tmp/bare"
cat >"$tmp/bare/main.go" <<'GO'
package main

import (
	"fmt"
	"net"
	"net/http"
)

func main() {
	body := []byte(`{"key":"rules-flag","value":false,"reason":"DEFAULT","variant":"off","metadata":{}}`)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println("http://" + ln.Addr().String())
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
}
GO
printf 'module bare\ngo 1.26\n' >"$tmp/bare/go.mod"
(cd "$tmp/bare" && go build -o "$tmp/bare-bench" .)

admin=ofrep-bench-admin-token-0123456789
RAMP_ADMIN_TOKEN=$admin "$tmp/ramp-ofrep-bench" serve --addr 127.0.0.1:0 --data "$tmp/data" --log-level warn >"$tmp/ramp.out" 2>"$tmp/ramp.err" &
pids+=($!)
"$tmp/bare-bench" >"$tmp/bare.out" &
pids+=($!)
for _ in $(seq 50); do
	[ -s "$tmp/ramp.out" ] && [ -s "$tmp/bare.out" ] && break
	sleep 0.1
done
ramp=$(grep -o 'http://[0-9.:]*' "$tmp/ramp.out")
bare=$(head -1 "$tmp/bare.out")

auth="Authorization: Bearer $admin"
curl -sf -o /dev/null -X POST "$ramp/api/v1/projects/default/environments/production/flags" -H "$auth" -d '{
  "key": "rules-flag", "type": "boolean", "enabled": true, "offVariation": "off",
  "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}],
  "rules": [
    {"id": "staff", "clauses": [{"attribute": "email", "op": "ends_with", "values": ["@example.com"]}], "serve": {"variation": "on"}},
    {"id": "br-pt", "clauses": [{"attribute": "country", "op": "in", "values": ["BR", "PT"]}],
     "serve": {"split": {"weights": [{"variation": "on", "weight": 10}, {"variation": "off", "weight": 90}]}}}
  ],
  "fallthrough": {"variation": "off"}}'
key=$(curl -sf -X POST "$ramp/api/v1/keys" -H "$auth" -d '{"kind":"server","project":"default","environment":"production"}' |
	sed 's/.*"secret":"\([^"]*\)".*/\1/')
echo "check: $(curl -sf -X POST "$ramp/ofrep/v1/evaluate/flags/rules-flag" -H "Authorization: Bearer $key" \
	-d '{"context":{"targetingKey":"user-4","email":"user-4@example.com","country":"BR"}}')"

rps() { RAMP_KEY=$key wrk -t2 -c64 -d"$dur" -s "$root/scripts/ofrep-wrk.lua" "$1/ofrep/v1/evaluate/flags/rules-flag" |
	awk '/Non-2xx/ {bad=$NF} /Requests\/sec/ {r=$2} END {if (bad) {print "errors:" bad} else {print r}}'; }
tb=0
tr=0
for i in $(seq "$rounds"); do
	b=$(rps "$bare")
	r=$(rps "$ramp")
	tb=$(awk -v a="$tb" -v b="$b" 'BEGIN {print a + b}')
	tr=$(awk -v a="$tr" -v b="$r" 'BEGIN {print a + b}')
	echo "round $i: bare net/http $b req/s, ramp OFREP $r req/s, ratio $(awk -v r="$r" -v b="$b" 'BEGIN {printf "%.2f", r/b}')"
done
awk -v b="$tb" -v r="$tr" -v n="$rounds" 'BEGIN {printf "mean: bare net/http %.0f req/s, ramp OFREP %.0f req/s, ratio %.2f\n", b/n, r/n, r/b}'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
