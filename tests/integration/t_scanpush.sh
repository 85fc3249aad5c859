#!/bin/bash
# Scan on push: real images built from the fixture package databases are
# pushed with skopeo and podman; their reports come from the scan endpoint
# (?wait) and the Referrers API, and their findings are the answer key's.
# The same manifest in a second repository is scanned once; an index lists
# each platform's report; deleting an image deletes its reports.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"
need skopeo

sp_layout
sp_db "$TMP/vulndb.db"
mkdir -p "$DATA"
cp "$TMP/vulndb.db" "$DATA/vulndb.db"
start_server --scan-workers 2

printf '{"default":[{"type":"insecureAcceptAnything"}]}' >"$TMP/policy.json"
SK=(skopeo --policy "$TMP/policy.json" --registries-conf /dev/null)
export REGISTRY_AUTH_FILE=$TMP/auth.json
echo '{}' >"$REGISTRY_AUTH_FILE"

# --- The extension is discoverable.
req GET /v2/_oci/ext/discover
expect 200
jq -e '.extensions[] | select(.name == "_customs") |
	(.endpoints | index("_customs/scan")) and (.url | length > 0)' "$B" \
	>/dev/null || fail "discover: $(cat "$B")"
req GET /v2/any/repo/_oci/ext/discover
expect 200
jq -e '.extensions[0].endpoints == ["_customs/scan"]' "$B" >/dev/null ||
	fail "repository discover: $(cat "$B")"

# --- Debian, pushed by skopeo; the report through ?wait.
"${SK[@]}" copy -q --dest-tls-verify=false "oci:$L:debian" \
	"docker://$REG/scan/debian:v1" || fail "skopeo copy debian"
t0=$(ms)
req GET /v2/scan/debian/manifests/v1
expect 200
deb=$(hdr Docker-Content-Digest)
sp_report scan/debian "$deb" 60
t1=$(ms)
cp "$B" "$TMP/debian.json"
sp_same_findings "$TMP/debian.json" debian-bookworm-minbase
jq -e --arg d "$deb" '.image.digest == $d and .image.repository ==
	"scan/debian" and (.packages | length) == 88 and
	.os.id == "debian" and (.db.version | type) == "string" and
	.counts.unknown == 2' "$TMP/debian.json" >/dev/null ||
	fail "debian report: $(jq -c '{image, os, db, counts}' "$TMP/debian.json")"
echo "debian report available $((t1 - t0)) ms after the push returned"
# By tag too.
req GET /v2/scan/debian/_customs/scan/v1
expect 200

# --- The Referrers API shows it to any OCI 1.1 client.
req GET "/v2/scan/debian/referrers/$deb$SP_RT"
expect 200
jq -e '.manifests | length == 1' "$B" >/dev/null ||
	fail "referrers: $(cat "$B")"
jq -e --slurpfile r "$TMP/debian.json" '.manifests[0] |
	.artifactType == "application/vnd.customs.scan.report.v1+json" and
	.annotations["dev.customs.scan.unknown"] == "2" and
	.annotations["dev.customs.scan.critical"] == "0" and
	.annotations["dev.customs.scan.db"] == $r[0].db.version and
	.annotations["org.opencontainers.image.created"] == $r[0].created' \
	"$B" >/dev/null || fail "referrer descriptor: $(cat "$B")"
ref=$(jq -r '.manifests[0].digest' "$B")
req GET "/v2/scan/debian/referrers/$deb?artifactType=application/vnd.customs.scan.report.v1%2Bjson"
expect 200
[ "$(jq -r '.manifests[0].digest' "$B")" = "$ref" ] || fail "artifactType filter"
req GET "/v2/scan/debian/manifests/$ref"
expect 200
cp "$B" "$TMP/ref.json"
jq -e --arg d "$deb" '.subject.digest == $d and
	.config.mediaType == "application/vnd.oci.empty.v1+json" and
	.config.digest == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" and
	(.layers | length) == 1' "$TMP/ref.json" >/dev/null ||
	fail "referrer manifest: $(cat "$TMP/ref.json")"
req GET "/v2/scan/debian/blobs/$(jq -r '.config.digest' "$TMP/ref.json")"
expect 200
[ "$(cat "$B")" = "{}" ] || fail "empty config blob: $(cat "$B")"
req GET "/v2/scan/debian/blobs/$(jq -r '.layers[0].digest' "$TMP/ref.json")"
expect 200
jq -S . "$B" >"$TMP/layer.json"
jq -S . "$TMP/debian.json" >"$TMP/endpoint.json"
same_file "$TMP/layer.json" "$TMP/endpoint.json"
# skopeo, as an OCI client, reads the same artifact.
"${SK[@]}" inspect --raw --tls-verify=false "docker://$REG/scan/debian@$ref" \
	>"$TMP/skopeo-ref.json" || fail "skopeo inspect the referrer"
same_file "$TMP/skopeo-ref.json" "$TMP/ref.json"

# --- Alpine 3.10, pushed by podman.
if PM=(podman --root "$TMP/root" --runroot "$TMP/runroot" --storage-driver vfs
	--cgroup-manager cgroupfs --events-backend none) &&
	command -v podman >/dev/null && "${PM[@]}" images >/dev/null 2>&1 &&
	layers_ok podman "${PM[@]}"; then
	(cd "$TMP" && "${PM[@]}" pull -q oci:layout:alpine310) >"$TMP/id" ||
		fail "podman pull oci:layout:alpine310"
	"${PM[@]}" push -q --tls-verify=false "$(tail -n 1 "$TMP/id")" \
		"docker://$REG/scan/alpine:3.10" || fail "podman push"
	req GET /v2/scan/alpine/manifests/3.10
	expect 200
	alp=$(hdr Docker-Content-Digest)
	sp_report scan/alpine "$alp"
	cp "$B" "$TMP/alpine.json"
	sp_same_findings "$TMP/alpine.json" alpine-3.10.4
	req GET "/v2/scan/alpine/referrers/$alp$SP_RT"
	jq -e '.manifests[0].annotations["dev.customs.scan.unknown"] == "20"' \
		"$B" >/dev/null || fail "alpine referrer: $(cat "$B")"
else
	echo "podman cannot run here: alpine pushed with skopeo instead"
	"${SK[@]}" copy -q --dest-tls-verify=false "oci:$L:alpine310" \
		"docker://$REG/scan/alpine:3.10" || fail "skopeo copy alpine"
	req GET /v2/scan/alpine/manifests/3.10
	alp=$(hdr Docker-Content-Digest)
	sp_report scan/alpine "$alp"
	sp_same_findings "$B" alpine-3.10.4
fi

# --- The same manifest in another repository and under more tags: one
# scan, and a report referrer in that repository too.
"${SK[@]}" copy -q --src-tls-verify=false --dest-tls-verify=false \
	"docker://$REG/scan/debian:v1" "docker://$REG/mirror/debian:stable" ||
	fail "registry to registry copy"
"${SK[@]}" copy -q --dest-tls-verify=false "oci:$L:debian" \
	"docker://$REG/scan/debian:v1-again" || fail "second tag"
sp_report mirror/debian "$deb"
jq -e '.image.repository == "mirror/debian"' "$B" >/dev/null ||
	fail "report in mirror/debian names $(jq -r .image.repository "$B")"
for i in $(seq 1 100); do
	req GET "/v2/mirror/debian/referrers/$deb$SP_RT"
	[ "$(jq '.manifests | length' "$B")" = 1 ] && break
	sleep 0.1
done
jq -e '.manifests | length == 1' "$B" >/dev/null ||
	fail "no referrer in the second repository: $(cat "$B")"
req GET "/v2/scan/debian/referrers/$deb$SP_RT"
jq -e '.manifests | length == 1' "$B" >/dev/null ||
	fail "first repository has $(jq '.manifests | length' "$B") referrers"
n=$(grep -c "scan $deb .*: scanned" "$TMP/server.log")
[ "$n" = 1 ] || fail "debian scanned $n times"

# --- An index: each platform scanned once, listed in the index's report.
npm=$(sp_push npm scan/multi npm-amd64)
deb2=$(sp_push debian scan/multi debian-arm64)
printf '{"schemaVersion":2,"mediaType":"%s","manifests":[
 {"mediaType":"%s","digest":"%s","size":%d,"platform":{"architecture":"amd64","os":"linux"}},
 {"mediaType":"%s","digest":"%s","size":%d,"platform":{"architecture":"arm64","os":"linux"}}]}' \
	"$OCI_INDEX" "$OCI_MANIFEST" "$npm" "$(stat -c %s "$(sp_manifest_file npm)")" \
	"$OCI_MANIFEST" "$deb2" "$(stat -c %s "$(sp_manifest_file debian)")" \
	>"$TMP/index.json"
push_manifest scan/multi latest "$TMP/index.json" "$OCI_INDEX"
idx=$(sha256 "$TMP/index.json")
sp_report scan/multi latest
cp "$B" "$TMP/multi.json"
jq -e --arg i "$idx" --arg a "$npm" --arg b "$deb2" '.image.digest == $i and
	[.manifests[].image.digest] == [$a, $b] and
	.counts.critical == 1 and .counts.high == 4 and .counts.medium == 3 and
	.counts.unknown == 2' "$TMP/multi.json" >/dev/null ||
	fail "index report: $(jq -c '{image, counts, m: [.manifests[].image.digest]}' "$TMP/multi.json")"
jq '.manifests[0]' "$TMP/multi.json" >"$TMP/multi-npm.json"
sp_same_findings "$TMP/multi-npm.json" npm-app
req GET "/v2/scan/multi/referrers/$idx$SP_RT"
jq -e '.manifests[0].annotations["dev.customs.scan.critical"] == "1" and
	.manifests[0].annotations["dev.customs.scan.unknown"] == "2"' "$B" \
	>/dev/null || fail "index referrer: $(cat "$B")"
[ "$(grep -c "scan $npm .*: scanned" "$TMP/server.log")" = 1 ] ||
	fail "npm platform not scanned exactly once"
[ "$(grep -c "scan $deb2 .*: scanned" "$TMP/server.log")" = 1 ] ||
	fail "debian platform scanned again"

# --- Errors in the spec's format; artifacts are not scanned.
req GET /v2/scan/debian/_customs/scan/sha256:0000000000000000000000000000000000000000000000000000000000000000
expect 404 MANIFEST_UNKNOWN
req GET /v2/nosuch/repo/_customs/scan/v1
expect 404 MANIFEST_UNKNOWN
req GET "/v2/scan/debian/_customs/scan/$ref"
expect 200
jq -e '.status == "not-scanned" and
	.reason == "not a container image: nothing to scan"' "$B" >/dev/null ||
	fail "report of a report: $(cat "$B")"
req GET "/v2/scan/debian/_customs/scan/$deb?wait=soon"
expect 400 UNSUPPORTED

# --- Deleting the image deletes its reports.
req DELETE "/v2/mirror/debian/manifests/$deb"
expect 202
req GET "/v2/mirror/debian/referrers/$deb"
expect 200
jq -e '.manifests == []' "$B" >/dev/null || fail "reports kept: $(cat "$B")"
req GET "/v2/mirror/debian/manifests/$ref"
expect 404 MANIFEST_UNKNOWN
req GET "/v2/mirror/debian/_customs/scan/$deb"
expect 404 MANIFEST_UNKNOWN
# Still in scan/debian: its report stays.
sp_report scan/debian "$deb" 0
req GET "/v2/scan/debian/referrers/$deb$SP_RT"
jq -e '.manifests | length == 1' "$B" >/dev/null || fail "scan/debian lost its report"

stop_server
