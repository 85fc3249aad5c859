#!/bin/bash
# GET /healthz, /readyz and /metrics: push and pull an image, wait for its
# scan, then parse /metrics with prometheus_client's parser (the format
# Prometheus reads) and check the counters moved; /metrics refused to a
# non-admin with auth on; /readyz 503 once the data dir is read-only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/metrics_lib.sh"

start_server
req GET /healthz
[ "$STATUS" = 200 ] && [ "$(cat "$B")" = ok ] || fail "healthz: $STATUS"
req GET /readyz
[ "$STATUS" = 200 ] || fail "readyz: $STATUS $(cat "$B")"

mkdir -p "$TMP/img"
mdg=$(push_image app v1 "$TMP/img" one)
req GET /v2/app/manifests/v1
expect 200
req GET "/v2/app/_customs/scan/$mdg?wait=60"
[ "$STATUS" = 200 ] || fail "scan: $STATUS $(head -c 300 "$B")"

# The report is readable a moment before its job is marked done (the SBOM
# referrers follow it): wait for the job, not the report.
for i in $(seq 1 100); do
	scrape >"$TMP/samples"
	[ "$(metric 'customs_scan_jobs{state=done}')" -ge 1 ] && break
	sleep 0.1
done
[ -z "${KEEP_SAMPLES:-}" ] || cp "$TMP/samples" "$KEEP_SAMPLES"
m_put=$(metric 'customs_http_requests_total{code=2xx,method=PUT,route=manifest}')
[ "$m_put" -ge 1 ] || fail "manifest PUT count: $m_put"
[ "$(metric 'customs_http_requests_total{code=2xx,method=GET,route=manifest}')" -ge 1 ] ||
	fail "manifest GET count"
[ "$(metric 'customs_http_requests_total{code=2xx,method=POST,route=upload}')" -ge 2 ] ||
	fail "upload POST count"
[ "$(metric 'customs_scan_jobs{state=done}')" -ge 1 ] || fail "scans done"
[ "$(metric 'customs_scans_total{outcome=ok}')" -ge 1 ] || fail "scans ok"
[ "$(metric 'customs_scan_duration_seconds_count{}')" -ge 1 ] ||
	fail "scan duration count"
[ "$(metric 'customs_http_request_duration_seconds_count{route=manifest}')" -ge 2 ] ||
	fail "manifest latency count"
[ "$(metric 'customs_http_request_bytes_total{route=upload}')" -gt 4096 ] ||
	fail "upload bytes in"
[ "$(metric 'customs_http_response_bytes_total{route=manifest}')" -gt 0 ] ||
	fail "manifest bytes out"
[ "$(metric 'customs_blobs_damaged_total{}')" = 0 ] || fail "damaged blobs"
# The scrape's own connection is open.
[ "$(metric 'customs_http_connections{}')" -ge 1 ] || fail "open connections"
# Probes are counted but stay out of the info log.
grep -q ' /healthz ' "$TMP/server.log" && fail "healthz logged at info"

# What the store holds: one repository, its image (config and layer, and
# the scan report stored as a blob), and the blobs' bytes.
[ "$(metric 'customs_repositories{}')" = 1 ] || fail "repositories"
[ "$(metric 'customs_manifests{}')" -ge 1 ] || fail "manifests"
[ "$(metric 'customs_blobs{}')" -ge 2 ] || fail "blobs"
lsz=$(stat -c %s "$TMP/img/layer-one.tar.gz")
[ "$(metric 'customs_blob_bytes{}')" -gt "$lsz" ] || fail "blob bytes"

# An upload session counts while it is open.
u0=$(metric 'customs_uploads_in_progress{}')
req POST /v2/app/blobs/uploads/
[ "$STATUS" = 202 ] || fail "upload start: $STATUS"
loc=$(upload_location)
scrape >"$TMP/samples"
[ "$(metric 'customs_uploads_in_progress{}')" = $((u0 + 1)) ] ||
	fail "uploads in progress: $(metric 'customs_uploads_in_progress{}')"
req DELETE "$loc"
[ "$STATUS" = 204 ] || fail "upload cancel: $STATUS"
scrape >"$TMP/samples"
[ "$(metric 'customs_uploads_in_progress{}')" = "$u0" ] ||
	fail "uploads after the cancel"

# sqlite busy waits: another process holds meta.db's write lock for a
# second while a push writes; the push waits (and then succeeds).
# (meta.db is sqlite's: on the fs backend only.)
if [ "$BACKEND" = fs ]; then
	w0=$(metric 'customs_sqlite_busy_waits_total{}')
	s0=$(metric 'customs_sqlite_busy_wait_seconds_total{}')
	"$PY" - "$DATA/meta.db" "$TMP/locked" <<'PY' &
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(1)
db.execute("ROLLBACK")
PY
	LOCKER=$!
	for i in $(seq 1 100); do [ -e "$TMP/locked" ] && break; sleep 0.05; done
	[ -e "$TMP/locked" ] || fail "the lock holder did not start"
	head -c 3000 /dev/urandom >"$TMP/busy.bin"
	push_blob app "$TMP/busy.bin" >/dev/null
	wait "$LOCKER" || fail "the lock holder failed"
	scrape >"$TMP/samples"
	[ "$(metric 'customs_sqlite_busy_waits_total{}')" -gt "$w0" ] ||
		fail "busy waits: $(grep sqlite "$TMP/samples")"
	"$PY" -c 'import sys; sys.exit(not float(sys.argv[2]) - float(sys.argv[1]) >= 0.3)' \
		"$s0" "$(metric 'customs_sqlite_busy_wait_seconds_total{}')" ||
		fail "busy seconds: $(grep sqlite "$TMP/samples")"
	[ "$(metric 'customs_sqlite_busy_timeouts_total{}')" = 0 ] || fail "busy timeouts"
fi

# A read-only data dir: not ready (root writes regardless: skip that).
if [ "$(id -u)" != 0 ]; then
	chmod a-w "$DATA"
	req GET /readyz
	chmod u+w "$DATA"
	[ "$STATUS" = 503 ] || fail "readyz with a read-only dir: $STATUS"
	jq -e '.not_ready | index("data_dir")' "$B" >/dev/null ||
		fail "readyz body: $(cat "$B")"
fi
stop_server

# The pull policy: no vulnerability DB, so --deny-severity refuses the pull.
# A gc every second frees an abandoned upload (its bytes).
start_server --deny-severity critical --gc-interval 1 --gc-grace 0 \
	--upload-ttl 1
req POST /v2/app/blobs/uploads/
[ "$STATUS" = 202 ] || fail "upload start: $STATUS"
req PATCH "$(upload_location)" --data-binary "@$TMP/img/layer-one.tar.gz" \
	-H 'Content-Type: application/octet-stream'
[ "$STATUS" = 202 ] || fail "upload patch: $STATUS"
req GET /v2/app/manifests/v1
expect 403 DENIED
scrape >"$TMP/samples"
[ "$(metric 'customs_policy_decisions_total{decision=denied}')" = 1 ] ||
	fail "policy denials: $(grep policy "$TMP/samples")"
[ "$(metric 'customs_http_requests_total{code=4xx,method=GET,route=manifest}')" = 1 ] ||
	fail "manifest 403 count"
for i in $(seq 1 100); do
	scrape >"$TMP/samples"
	[ "$(metric 'customs_gc_freed_bytes_total{}')" -gt 0 ] && break
	sleep 0.1
done
[ "$(metric 'customs_gc_runs_total{outcome=ok}')" -ge 1 ] || fail "gc runs"
[ "$(metric 'customs_gc_freed_bytes_total{}')" -gt 0 ] || fail "gc bytes freed"
stop_server

# Auth on: /metrics needs the admin action; probes stay open.
. "$(dirname "$0")/auth_lib.sh"
add_user bob bob-pw
add_user root root-pw
cat >"$TMP/access.json" <<'JSON'
{"rules": [
  {"users": ["bob"], "repositories": ["*"], "actions": ["pull", "push"]},
  {"users": ["root"], "repositories": ["*"],
   "actions": ["pull", "push", "delete", "admin"]}]}
JSON
start_server --auth basic --access "$TMP/access.json" --metrics-listen :0
as_anon
req GET /healthz
[ "$STATUS" = 200 ] || fail "healthz with auth: $STATUS"
req GET /readyz
[ "$STATUS" = 200 ] || fail "readyz with auth: $STATUS"
req GET /metrics
expect 401 UNAUTHORIZED
as bob bob-pw
req GET /metrics
expect 403 DENIED
as root root-pw
scrape >/dev/null

# --metrics-listen: a port of its own, on 127.0.0.1 when no host is named,
# serving the three paths, and nothing else, without sign-in.
mport=
for i in $(seq 1 100); do
	mport=$(sed -n 's/.*metrics and health checks on port \([0-9]*\).*/\1/p' \
		"$TMP/server.log" | tail -n 1)
	[ -n "$mport" ] && break
	sleep 0.05
done
[ -n "$mport" ] || fail "no metrics port in the log"
grep -q "listening on 127.0.0.1:$mport\$" "$TMP/server.log" ||
	fail "metrics listener: $(grep listening "$TMP/server.log")"
as_anon
main_url=$URL
URL=http://127.0.0.1:$mport
scrape >"$TMP/samples"
# That scrape is counted, and so is the one before, on the main port.
[ "$(metric 'customs_http_requests_total{code=2xx,method=GET,route=health}')" -ge 1 ] ||
	fail "scrapes not counted"
req GET /healthz
[ "$STATUS" = 200 ] || fail "healthz on the metrics port: $STATUS"
req GET /readyz
[ "$STATUS" = 200 ] || fail "readyz on the metrics port: $STATUS"
req GET /v2/
expect 404 UNSUPPORTED
req GET /v2/app/manifests/v1
expect 404 UNSUPPORTED
req POST /metrics
expect 405 UNSUPPORTED
[ "$(hdr Allow)" = GET ] || fail "Allow: $(hdr Allow)"
URL=$main_url
req GET /metrics
expect 401 UNAUTHORIZED
stop_server

# Its address is checked as --listen's is: a usage error, exit 2.
for l in :99999 : 127.0.0.1 "[::1]:70000"; do
	rc=0
	"$CUSTOMS" serve --metrics-listen "$l" --data "$DATA" >"$TMP/out" 2>&1 ||
		rc=$?
	[ "$rc" -eq 2 ] || fail "--metrics-listen '$l' exited $rc: $(cat "$TMP/out")"
	grep -qF -- "--metrics-listen $l: want host:port" "$TMP/out" ||
		fail "--metrics-listen '$l': $(cat "$TMP/out")"
done

# Feed sources (--db-source): records and age of each one's last good
# copy, and whether its last update failed, from a loopback feed server.
if command -v zip >/dev/null 2>&1; then
	FEEDS=$TMP/feeds
	mkdir -p "$FEEDS/osv"
	(cd "$ROOT/tests/data/advisories/osv" && zip -qr "$FEEDS/osv/all.zip" npm) ||
		fail "zip feed"
	echo '{}' >"$FEEDS/.faults.json"
	"$PY" "$ROOT/tests/integration/feedserver.py" "$FEEDS" "$TMP/feedport" &
	FEED_PID=$!
	trap 'kill $FEED_PID 2>/dev/null || true; lib_cleanup' EXIT
	for i in $(seq 1 50); do [ -s "$TMP/feedport" ] && break; sleep 0.1; done
	[ -s "$TMP/feedport" ] || fail "feed server did not start"
	FURL=http://127.0.0.1:$(cat "$TMP/feedport")
	start_server --db-update-interval 1 --db-source "osv=$FURL/osv/all.zip" \
		--db-source "osv=$FURL/osv/gone.zip"
	src='source=osv:127.0.0.1:'"$(cat "$TMP/feedport")"
	for i in $(seq 1 100); do
		scrape >"$TMP/samples"
		[ "$(metric "customs_vulndb_source_records{$src/osv/all.zip}")" -gt 0 ] &&
			[ "$(metric "customs_vulndb_source_failing{$src/osv/gone.zip}")" = 1 ] &&
			break
		sleep 0.1
	done
	[ "$(metric "customs_vulndb_source_records{$src/osv/all.zip}")" -gt 0 ] ||
		fail "source records: $(grep vulndb "$TMP/samples")"
	[ "$(metric "customs_vulndb_source_failing{$src/osv/all.zip}")" = 0 ] ||
		fail "all.zip failing: $(grep vulndb "$TMP/samples")"
	[ "$(metric "customs_vulndb_source_failing{$src/osv/gone.zip}")" = 1 ] ||
		fail "gone.zip not failing: $(grep vulndb "$TMP/samples")"
	grep -q "^customs_vulndb_source_age_seconds{$src/osv/all.zip} " \
		"$TMP/samples" || fail "source age: $(grep vulndb "$TMP/samples")"
	stop_server
fi
echo "ok"
