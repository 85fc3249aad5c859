#!/bin/bash
# GET /healthz, /readyz and /metrics: push and pull an image, wait for its
# scan, then parse /metrics with prometheus_client's parser (the format
# Prometheus reads) and check the counters moved; /metrics refused to a
# non-admin with auth on; /readyz 503 once the data dir is read-only.
. "$(dirname "$0")/lib.sh"
# Debian's python3-prometheus-client is for the system's python3.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c 'import prometheus_client.parser' 2>/dev/null ||
	skip "python3-prometheus-client is not installed"

# scrape [curl args]: the metrics text into $B, checked by the parser
# (histogram buckets cumulative, _count equal to the +Inf bucket);
# prints "name{labels} value" lines for the checks below.
scrape() {
	req GET /metrics "$@"
	expect 200
	case "$(hdr Content-Type)" in
	text/plain\;\ version=0.0.4*) ;;
	*) fail "Content-Type: $(hdr Content-Type)" ;;
	esac
	"$PY" - "$B" <<'PY' || fail "parser: $(head -c 300 "$B")"
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = list(text_string_to_metric_families(open(sys.argv[1]).read()))
for f in fams:
    if f.type == "histogram":
        groups = {}
        for s in f.samples:
            key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            groups.setdefault(key, []).append(s)
        for key, ss in groups.items():
            buckets = [s.value for s in ss if s.name.endswith("_bucket")]
            inf = [s.value for s in ss
                   if s.name.endswith("_bucket") and s.labels["le"] == "+Inf"]
            count = [s.value for s in ss if s.name.endswith("_count")]
            assert buckets == sorted(buckets), (f.name, key, buckets)
            assert inf and count and inf[0] == count[0], (f.name, key)
    for s in f.samples:
        lab = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
        v = s.value
        print("%s{%s} %s" % (s.name, lab, int(v) if v == int(v) else v))
PY
}

# metric NAME{LABELS}: its value in the last scrape (0 if absent).
metric() {
	awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' \
		"$TMP/samples"
}

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

scrape >"$TMP/samples"
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
start_server --auth basic --access "$TMP/access.json"
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
stop_server
echo "ok"
