#!/bin/bash
# Pull policy: --deny-severity refuses manifest pulls of images with findings
# at or above a level (403 DENIED naming the count and the report),
# --allow-vuln exempts advisories, and an image still being scanned is held
# up to --policy-wait instead of being refused blindly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"

sp_layout
mkdir -p "$DATA"
sp_db "$DATA/vulndb.db"
printf '{"default":[{"type":"insecureAcceptAnything"}]}' >"$TMP/policy.json"
SK=(skopeo --policy "$TMP/policy.json" --registries-conf /dev/null)
export REGISTRY_AUTH_FILE=$TMP/auth.json
echo '{}' >"$REGISTRY_AUTH_FILE"

start_server --deny-severity critical --policy-wait 30 --scan-layers=false

# npm-app: 1 critical, 4 high, 3 medium.  debian: 2 of unknown severity.
npm=$(sp_push npm pol/npm v1)
deb=$(sp_push debian pol/debian v1)
# Pulled right after the push: held until the report is in, then judged.
req GET /v2/pol/debian/manifests/v1
expect 200
[ "$(hdr Docker-Content-Digest)" = "$deb" ] || fail "debian served wrong"
req GET /v2/pol/npm/manifests/v1
expect 403 DENIED
msg=$(jq -r '.errors[0].message' "$B")
case $msg in
*"1 vulnerability at or above CRITICAL"*"/v2/pol/npm/_customs/scan/$npm"*) ;;
*) fail "denial message: $msg" ;;
esac
req GET "/v2/pol/npm/manifests/$npm"
expect 403 DENIED
# HEAD is judged as GET (a 200 would let a client serve its cached copy):
# the same status and headers, no body.  The report artifacts are served.
req HEAD /v2/pol/npm/manifests/v1
expect 403
[ "$(hdr Content-Type)" = application/json ] || fail "HEAD content type"
req HEAD /v2/pol/debian/manifests/v1
expect 200
[ "$(hdr Docker-Content-Digest)" = "$deb" ] || fail "HEAD debian digest"
req GET "/v2/pol/npm/referrers/$npm$SP_RT"
ref=$(jq -r '.manifests[0].digest' "$B")
req GET "/v2/pol/npm/manifests/$ref"
expect 200
# Clients see the refusal.
if command -v skopeo >/dev/null; then
	"${SK[@]}" copy -q --src-tls-verify=false "docker://$REG/pol/npm:v1" \
		"oci:$TMP/pulled:npm" 2>"$TMP/skopeo.err" &&
		fail "skopeo pulled a denied image"
	grep -qi "denied" "$TMP/skopeo.err" ||
		fail "skopeo error: $(cat "$TMP/skopeo.err")"
	"${SK[@]}" copy -q --src-tls-verify=false "docker://$REG/pol/debian:v1" \
		"oci:$TMP/pulled:debian" || fail "skopeo could not pull debian"
fi

# An index: its platforms' findings count.
printf '{"schemaVersion":2,"mediaType":"%s","manifests":[
 {"mediaType":"%s","digest":"%s","size":%d,"platform":{"architecture":"amd64","os":"linux"}}]}' \
	"$OCI_INDEX" "$OCI_MANIFEST" "$npm" \
	"$(stat -c %s "$(sp_manifest_file npm)")" >"$TMP/index.json"
push_manifest pol/npm multi "$TMP/index.json" "$OCI_INDEX"
req GET /v2/pol/npm/manifests/multi
expect 403 DENIED

# Held while the scan runs, then served: about as long as the scan.
t0=$(ms)
slow=$(sp_slow pol/slow v1 150)
req GET /v2/pol/slow/manifests/v1
t1=$(ms)
expect 200
grep -q "scan $slow .*scanned" "$TMP/server.log" ||
	fail "served before its scan finished"
echo "pull held $((t1 - t0)) ms for a scan"
stop_server

# --policy-wait 1: still pending after a second, refused.
start_server --deny-severity critical --policy-wait 1 --scan-layers=false
slow2=$(sp_slow pol/slow v2 400)
t0=$(ms)
req GET /v2/pol/slow/manifests/v2
t1=$(ms)
expect 403 DENIED
jq -e '.errors[0].message | contains("still being scanned after 1 s")' \
	"$B" >/dev/null || fail "pending denial: $(cat "$B")"
[ $((t1 - t0)) -ge 900 ] || fail "refused after $((t1 - t0)) ms, not held"
stop_server

# --deny-severity high: the critical and the four highs count; exempting
# them (ids and aliases, comma-separated or repeated) lets it through.
start_server --deny-severity high
req GET /v2/pol/npm/manifests/v1
expect 403 DENIED
jq -e '.errors[0].message | contains("5 vulnerabilities at or above HIGH")' \
	"$B" >/dev/null || fail "high: $(cat "$B")"
stop_server
start_server --deny-severity high --allow-vuln CVE-2021-44906 \
	--allow-vuln GHSA-9c47-m6qq-7p4h,GHSA-35jh-r3h4-6jhm,CVE-2020-8203 \
	--allow-vuln GHSA-hrpp-h998-j3pp
req GET /v2/pol/npm/manifests/v1
expect 200
stop_server
# Without a policy, everything is served.
start_server
req GET /v2/pol/npm/manifests/v1
expect 200
stop_server
