#!/usr/bin/env bash
# bench/events.sh [N]: what events cost and how fast they arrive.
#
# customs alone, then customs with one --webhook (a python3 receiver on
# loopback, tests/integration/webhook_rx.py): N (default 50) sequential
# manifest pushes from one client (pushes a second, and with the webhook
# the delay from each PUT's response to its push event's arrival: p50,
# p99, max), then wrk on a manifest GET (every GET a pull event) for
# WRK_SECS (default 5) seconds; then with the webhook filtered to pushes
# (no pull event is made), then without again (the first run often
# differs).  The receiver shares the machine's cores, so customs's own
# cost is also given as its CPU time per GET (pull events delivered
# included).  Prints one table; the raw output goes to
# $BUILD/bench/events.log.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BUILD=${BUILD:-build}
CUSTOMS=${CUSTOMS:-$root/$BUILD/customs}
N=${1:-50}
WRK_SECS=${WRK_SECS:-5}
OUT=$root/$BUILD/bench
TMP=$(mktemp -d "${TMPDIR:-/tmp}/customs-bench-events.XXXXXX")
LOG=$OUT/events.log
PIDS=()
mkdir -p "$OUT"
: >"$LOG"

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "bench/events.sh: needs wrk" >&2; exit 2; }

# serve NAME [flags]: customs on a free port; sets URL and SPID.
serve() {
	local name=$1 i

	shift
	"$CUSTOMS" serve --listen 127.0.0.1:0 --port-file "$TMP/$name.port" \
		--data "$TMP/$name" --threads 2 --log-level warn \
		--gc-interval 0 --scrub-interval 0 --db-update-interval 0 "$@" \
		>>"$LOG" 2>&1 &
	SPID=$!
	PIDS+=("$SPID")
	for i in $(seq 1 200); do
		[ -s "$TMP/$name.port" ] && break
		sleep 0.05
	done
	URL=http://127.0.0.1:$(cat "$TMP/$name.port")
}

# cpu_ticks PID: the process's user + system CPU time, in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

run() { # run NAME [flags]: one column of figures into $TMP/NAME.out
	local name=$1 out cpu0 cpu1 rps reqs

	shift
	serve "$name" "$@"
	out=$(python3 "$here/events_push.py" "$URL" bench/events "$N" \
		${RXOUT:+"$RXOUT"})
	echo "== $name" >>"$LOG"
	echo "$out" >>"$LOG"
	echo "$out" >"$TMP/$name.out"
	cpu0=$(cpu_ticks "$SPID")
	out=$(wrk -t 2 -c 32 -d "${WRK_SECS}s" --latency \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"$URL/v2/bench/events/manifests/t0")
	# The pull events still in the outbox are delivered, and counted.
	sleep 2
	cpu1=$(cpu_ticks "$SPID")
	echo "$out" >>"$LOG"
	rps=$(awk '$1 == "Requests/sec:" { print $2 }' <<<"$out")
	reqs=$(awk '$2 == "requests" && $3 == "in" { print $1 }' <<<"$out")
	echo "get_rps $rps" >>"$TMP/$name.out"
	echo "get_cpu_us_per_req $(awk -v c=$((cpu1 - cpu0)) -v n="$reqs" \
		-v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", c / hz * 1e6 / n }')" \
		>>"$TMP/$name.out"
	kill "$SPID"
	wait "$SPID" || true
}

RXOUT= run plain
python3 "$root/tests/integration/webhook_rx.py" "$TMP/rx.jsonl" \
	"$TMP/rx.port" >>"$LOG" 2>&1 &
PIDS+=("$!")
for i in $(seq 1 100); do [ -s "$TMP/rx.port" ] && break; sleep 0.05; done
RXOUT=$TMP/rx.jsonl run webhook --webhook "http://127.0.0.1:$(cat "$TMP/rx.port")/"
# The same endpoint taking pushes only: no pull events are made.
printf '{"webhook": [{"url": "http://127.0.0.1:%s/", "events": ["push"]}]}' \
	"$(cat "$TMP/rx.port")" >"$TMP/push-only.json"
RXOUT=$TMP/rx.jsonl run pushonly --config "$TMP/push-only.json"
# Again without: the first run of the machine often differs.
RXOUT= run plain2

printf '%-22s %12s %12s %12s %12s\n' figure "no webhook" "1 webhook" \
	"push only" "no webhook"
for k in pushes_per_s get_rps get_cpu_us_per_req latency_p50_ms latency_p99_ms latency_max_ms; do
	printf '%-22s %12s %12s %12s %12s\n' "$k" \
		"$(awk -v k="$k" '$1 == k { print $2 }' "$TMP/plain.out")" \
		"$(awk -v k="$k" '$1 == k { print $2 }' "$TMP/webhook.out")" \
		"$(awk -v k="$k" '$1 == k { print $2 }' "$TMP/pushonly.out")" \
		"$(awk -v k="$k" '$1 == k { print $2 }' "$TMP/plain2.out")"
done
