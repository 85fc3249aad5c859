#!/bin/bash
# An image pushed again under another tag, once its report is made with
# the DB loaded now: the report serves as it is.  No scan, no new report
# (its blob and referrer stay the same, so the UI's cache of it holds),
# no second referrer.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"

sp_layout
mkdir -p "$DATA"
sp_db "$DATA/vulndb.db"
start_server --scan-workers 1

req GET /v2/_customs/db
v0=$(jq -r .version "$B")
deb=$(sp_push debian retag/debian v1)
sp_report retag/debian "$deb" 60
cp "$B" "$TMP/first.json"
sp_wait_idle "$v0"

# state: the report's referrer, its blob and the scan counters.
state() {
	req GET "/v2/retag/debian/referrers/$deb$SP_RT"
	expect 200
	jq -e '.manifests | length == 1' "$B" >/dev/null ||
		fail "$1: referrers: $(cat "$B")"
	jq -r '.manifests[0].digest' "$B" >"$TMP/$1.ref"
	req GET "/v2/retag/debian/manifests/$(cat "$TMP/$1.ref")"
	expect 200
	jq -r '.layers[0].digest' "$B" >"$TMP/$1.blob"
	req GET /v2/_customs/db
	expect 200
	jq -c '.scans | {done, reports}' "$B" >"$TMP/$1.scans"
	req GET "/v2/retag/debian/_customs/scan/$deb"
	expect 200
	cp "$B" "$TMP/$1.json"
}
state before

# The same manifest under a new tag, then under the tag it has.
push_manifest retag/debian v2 "$(sp_manifest_file debian)" "$OCI_MANIFEST"
push_manifest retag/debian v1 "$(sp_manifest_file debian)" "$OCI_MANIFEST"
req GET /v2/retag/debian/_customs/scan/v2
expect 200
sp_wait_idle "$v0"
state after
for f in ref blob scans; do
	same_file "$TMP/before.$f" "$TMP/after.$f"
done
same_file "$TMP/before.json" "$TMP/after.json"
jq -e '.reports == 1' "$TMP/after.scans" >/dev/null ||
	fail "reports: $(cat "$TMP/after.scans")"
n=$(grep -c "scan $deb " "$TMP/server.log")
[ "$(grep -c "scan $deb .*: scanned" "$TMP/server.log")" = 1 ] ||
	fail "scanned again: $(grep "scan $deb" "$TMP/server.log")"
[ "$(grep -c "scan $deb .*started" "$TMP/server.log")" = 1 ] ||
	fail "a job ran for the new tag: $(grep "scan $deb" "$TMP/server.log")"
echo "$n log lines for the image"

stop_server
