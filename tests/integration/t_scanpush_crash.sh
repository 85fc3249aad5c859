#!/bin/bash
# Scan on push across a crash: the job is committed with the manifest, so
# a server killed with SIGKILL while the scan runs picks it up again at
# restart and the report appears.  Also: 202 while pending, ?wait holding
# the request, and the event loops answering while a scan runs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"

sp_layout
mkdir -p "$DATA"
sp_db "$DATA/vulndb.db"
start_server --scan-workers 1

# An image whose scan takes a while (the debian layer, then 1.6 GB of
# filler in distinct layers), and one queued behind it.
slow=$(sp_slow crash/slow v1 400)
req GET "/v2/crash/slow/_customs/scan/$slow"
expect 202
jq -e '.status == "queued" or .status == "running"' "$B" >/dev/null ||
	fail "pending status: $(cat "$B")"
[ "$(hdr Retry-After)" = 1 ] || fail "no Retry-After on 202"
deb=$(sp_push debian crash/debian v1)
req GET "/v2/crash/debian/_customs/scan/$deb"
expect 202
jq -e '.status == "queued"' "$B" >/dev/null || fail "debian: $(cat "$B")"
# The registry answers at once while a scan runs.
t0=$(ms)
req GET /v2/
t1=$(ms)
expect 200
[ $((t1 - t0)) -lt 500 ] || fail "GET /v2/ took $((t1 - t0)) ms during a scan"

# Kill the server while the scan runs.
grep -q "scan $slow .*scanned" "$TMP/server.log" &&
	fail "the scan finished before the kill; make it slower"
kill -KILL "$PID"
wait "$PID" 2>/dev/null || true
PID=

start_server --scan-workers 1
grep -q "1 interrupted job(s) queued again" "$TMP/server.log" ||
	fail "interrupted jobs not recovered"
# ?wait=1 holds the request about a second, then says it is pending.
t0=$(ms)
req GET "/v2/crash/slow/_customs/scan/$slow?wait=1"
t1=$(ms)
expect 202
[ $((t1 - t0)) -ge 900 ] || fail "?wait=1 answered after $((t1 - t0)) ms"
# A client giving up on ?wait does no harm.
curl -s -m 1 -o /dev/null "$URL/v2/crash/slow/_customs/scan/$slow?wait=30" || true
sp_report crash/slow v1 300
sp_same_findings "$B" debian-bookworm-minbase
sp_report crash/debian "$deb" 60
sp_same_findings "$B" debian-bookworm-minbase
for r in crash/slow:$slow crash/debian:$deb; do
	req GET "/v2/${r%%:sha256*}/referrers/${r#*:}$SP_RT"
	expect 200
	jq -e '.manifests | length == 1' "$B" >/dev/null ||
		fail "$r: referrers after restart: $(cat "$B")"
done
# A job ends after its report is served (its SBOM referrers follow it).
req GET /v2/_customs/db
expect 200
sp_wait_idle "$(jq -r .version "$B")"
jq -e '.scans.failed == 0 and .scans.reports == 2' "$B" >/dev/null ||
	fail "queue: $(cat "$B")"

stop_server
