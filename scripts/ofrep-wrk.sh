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
ramp_pid=$!
pids+=($ramp_pid)
"$tmp/bare-bench" >"$tmp/bare.out" &
bare_pid=$!
pids+=($bare_pid)
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

# cpu PID: the process's user+system CPU time so far, in clock ticks.
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tick=$(getconf CLK_TCK)
# rps URL PID: requests/s, then the server's CPU microseconds per request (less sensitive to neighbours).
rps() {
	local c0 out
	c0=$(cpu "$2")
	out=$(RAMP_KEY=$key wrk -t2 -c64 -d"$dur" -s "$root/scripts/ofrep-wrk.lua" "$1/ofrep/v1/evaluate/flags/rules-flag")
	echo "$out" | awk -v c="$(($(cpu "$2") - c0))" -v t="$tick" '
		/Non-2xx/ {bad=$NF} /requests in/ {n=$1} /Requests\/sec/ {r=$2}
		END {if (bad) {print "errors:" bad} else {printf "%s %.2f\n", r, c / t * 1e6 / n}}'
}
tb=0 tr=0 cb=0 cr=0
for i in $(seq "$rounds"); do
	read -r b bc <<<"$(rps "$bare" "$bare_pid")"
	read -r r rc <<<"$(rps "$ramp" "$ramp_pid")"
	tb=$(awk -v a="$tb" -v b="$b" 'BEGIN {print a + b}')
	tr=$(awk -v a="$tr" -v b="$r" 'BEGIN {print a + b}')
	cb=$(awk -v a="$cb" -v b="$bc" 'BEGIN {print a + b}')
	cr=$(awk -v a="$cr" -v b="$rc" 'BEGIN {print a + b}')
	echo "round $i: bare net/http $b req/s ($bc µs CPU/req), ramp OFREP $r req/s ($rc µs CPU/req), ratio $(awk -v r="$r" -v b="$b" 'BEGIN {printf "%.2f", r/b}')"
done
awk -v b="$tb" -v r="$tr" -v cb="$cb" -v cr="$cr" -v n="$rounds" 'BEGIN {
	printf "mean: bare net/http %.0f req/s, ramp OFREP %.0f req/s, ratio %.2f\n", b/n, r/n, r/b
	printf "server CPU per request: bare %.2f µs, ramp %.2f µs, ratio (bare/ramp) %.2f\n", cb/n, cr/n, cb/cr}'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
