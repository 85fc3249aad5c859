#!/bin/bash
# The report of an image whose layers were all pushed (and indexed) before
# its manifest is there right after the PUT: the scan job merges the
# layers' indexes, publishes the report referrer, stores the report and
# wakes whoever waits for it before it writes the two SBOM referrers (the
# slow part: blobs and manifests synced).  Checked without a clock: the
# scan endpoint, asked without ?wait, has the report within a few polls
# of the PUT, its report referrer is there when it is, the job logs the
# report stored before the SBOMs, and the SBOMs follow once the queue is
# idle.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"

s=$TMP/stage
fixture_stage "$SP_DATA/images/debian-bookworm-minbase" "$s/debian"
oci_image "$L" one "$s/debian" "$SP_DATA/images/python-bookworm" >/dev/null
m=$(sp_manifest_file one)
dg=$(sha256 "$m")

sp_db "$TMP/vulndb.db"
mkdir -p "$DATA"
cp "$TMP/vulndb.db" "$DATA/vulndb.db"
start_server --scan-workers 2 --log-level debug
req GET /v2/_customs/db
v=$(jq -r .version "$B")

layers() {
	req GET /metrics
	expect 200
	sed -n "s/^customs_scan_layers_total{how=\"$1\"} //p" "$B"
}

for d in $(jq -r '.config.digest, .layers[].digest' "$m"); do
	push_blob rf/one "$L/blobs/sha256/${d#sha256:}" >/dev/null
done
for i in $(seq 1 300); do
	[ "$(layers indexed)" -ge 2 ] && break
	sleep 0.1
done
[ "$(layers indexed)" -eq 2 ] || fail "layers indexed: $(layers indexed)"

push_manifest rf/one v1 "$m" "$OCI_MANIFEST"
# A merge of stored indexes (the poll bound is generous: a loaded
# machine is no failure; the metrics below tell that nothing was read).
for i in $(seq 1 200); do
	req GET "/v2/rf/one/_customs/scan/$dg"
	[ "$STATUS" = 202 ] || break
	sleep 0.05
done
expect 200
jq -e '.layer_index == "merged" and (.packages | length) > 0' "$B" \
	>/dev/null || fail "not a merged report: $(head -c 300 "$B")"
cp "$B" "$TMP/report"
# Whoever sees the report finds its referrer.
req GET "/v2/rf/one/referrers/$dg$SP_RT"
expect 200
jq -e '(.manifests | length) == 1' "$B" >/dev/null ||
	fail "report without its referrer: $(cat "$B")"
[ "$(layers indexed)" -eq 2 ] || fail "a layer was read again for the PUT"
[ "$(layers merged)" -eq 1 ] || fail "merged: $(layers merged)"

# The job's order, as it logs it: the report stored (logged, waiters
# woken), then the SBOMs, then done.
sp_wait_idle "$v"
awk -v d="$dg" '
	index($0, "scan " d " (rf/one): scanned in") { c = NR }
	index($0, "scan " d " (rf/one): report stored, SBOMs next") { r = NR }
	index($0, "scan: phases (ms):") && r && !p { p = NR }
	END { exit !(c && r > c && p > r) }' "$TMP/server.log" ||
	fail "report not stored before the SBOMs: $(grep -n "$dg\|phases" "$TMP/server.log")"
for t in application/spdx+json application/vnd.cyclonedx+json; do
	req GET "/v2/rf/one/referrers/$dg?artifactType=$(printf '%s' "$t" | sed 's/+/%2B/')"
	expect 200
	jq -e '(.manifests | length) == 1' "$B" >/dev/null ||
		fail "$t referrer missing once the job is done: $(cat "$B")"
done
# The report is the one stored: the SBOMs written after it change nothing.
req GET "/v2/rf/one/_customs/scan/$dg"
expect 200
cmp -s "$B" "$TMP/report" || fail "report changed after the SBOMs"
stop_server
