#!/usr/bin/env bash
# bench/stalls.sh: how long other clients wait while the server does slow
# work for someone else.  Two measurements against CUSTOMS (default
# $BUILD/customs), each on a fresh server on 127.0.0.1:
#
#   login storm    --auth basic, --threads 2: 100 source addresses send 4
#                  bad passwords each, all at once (bench/loginstorm.py),
#                  while a probe asks an anonymous GET /v2/ every 50 ms;
#                  prints the storm's statuses and the probe's latencies;
#   upload resume  --threads 1: a 512 MiB upload (one PATCH), a restart
#                  (SIGTERM), then GET of its status and a PUT that
#                  finishes it with a sha512 digest, while a probe asks
#                  GET /v2/ every 10 ms; prints both requests' times and
#                  the probe's worst latency.
#
# Environment: BUILD, CUSTOMS, TMPDIR.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BUILD=${BUILD:-build}
CUSTOMS=${CUSTOMS:-$root/$BUILD/customs}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/customs-stalls.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

start() {
	rm -f "$tmp/port"
	"$CUSTOMS" serve --data "$tmp/data" --listen 127.0.0.1:0 \
		--port-file "$tmp/port" "$@" >>"$tmp/log" 2>&1 &
	pid=$!
	while [ ! -s "$tmp/port" ]; do sleep 0.05; done
	url=http://127.0.0.1:$(cat "$tmp/port")
}

stop() {
	kill -TERM "$pid"
	wait "$pid" || true
	pid=
}

echo "login storm:"
printf 'secret' | "$CUSTOMS" user add alice --data "$tmp/data" >/dev/null 2>&1
start --auth basic --threads 2
python3 "$here/loginstorm.py" "$(cat "$tmp/port")"
stop
rm -rf "$tmp/data"

echo "upload resume:"
head -c $((512 << 20)) /dev/urandom >"$tmp/blob"
start --threads 1
loc=$(curl -s -D - -o /dev/null -X POST "$url/v2/r/blobs/uploads/" |
	awk 'tolower($1) == "location:" { print $2 }' | tr -d '\r')
curl -s -o /dev/null -X PATCH --data-binary "@$tmp/blob" \
	-H 'Content-Type: application/octet-stream' "$url$loc"
stop
start --threads 1
python3 - "$url" >"$tmp/probe" <<'PY' &
import sys, time, urllib.request
url, stop, worst = sys.argv[1], time.time() + 8, 0
while time.time() < stop:
    t = time.time()
    urllib.request.urlopen(url + "/v2/").read()
    worst = max(worst, time.time() - t)
    time.sleep(0.01)
print(f"  probe GET /v2/: worst {worst * 1000:.0f} ms")
PY
probe=$!
sleep 0.5
curl -s -o /dev/null -w '  GET status after the restart: %{http_code} in %{time_total} s\n' \
	"$url$loc"
sleep 0.5
dg=sha512:$(sha512sum "$tmp/blob" | cut -d' ' -f1)
curl -s -o /dev/null -w '  PUT ?digest=sha512: %{http_code} in %{time_total} s\n' \
	-X PUT "$url$loc?digest=$dg"
wait "$probe"
cat "$tmp/probe"
stop
