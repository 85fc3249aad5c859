#!/bin/bash
# The pull policy on pulled-through images: with --deny-severity, the first
# GET of an image the cache has never seen waits for its blobs to be
# fetched and its scan to finish, then is refused (findings) or served (a
# clean image); the second GET is judged at once from the stored report.
# HEAD is judged as GET.  An index is not gated; its platform manifest is.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
need tar gzip

L=$TMP/layout
S=$TMP/stage
fixture_stage "$PX_DATA/images/debian-bookworm-minbase" "$S/debian"
mkdir -p "$S/clean/etc"
echo clean >"$S/clean/etc/hostname"
deb=$(oci_image "$L" debian "$S/debian")
clean=$(oci_image "$L" clean "$S/clean")
jq -cn --arg d "$deb" \
	--argjson s "$(stat -c %s "$L/blobs/sha256/${deb#sha256:}")" '{
	schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
	manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
	  digest: $d, size: $s, platform: {architecture: "amd64", os: "linux"}}]}' \
	>"$TMP/index.json"
read -r idx isz < <(oci_blob "$L" "$TMP/index.json")
jq --arg d "$idx" --argjson s "$isz" '.manifests += [{
	mediaType: "application/vnd.oci.image.index.v1+json", digest: $d,
	size: $s, annotations: {"org.opencontainers.image.ref.name": "multi"}}]' \
	"$L/index.json" >"$L/index.tmp"
mv "$L/index.tmp" "$L/index.json"

up_start
up_push "$L:debian" library/debian:12
up_push "$L:clean" library/clean:v1
up_push "$L:multi" library/multi:v1 --all
"$CUSTOMS" db import --db "$TMP/vulndb.db" "$PX_DATA/advisories/osv" \
	>"$TMP/import.log" 2>&1 || fail "db import: $(tail -n 3 "$TMP/import.log")"
start_server --mirror "$UP_URL" --vuln-db "$TMP/vulndb.db" \
	--deny-severity unknown --policy-wait 60

# HEAD is judged as GET: it too waits for the fetch and the scan.
req HEAD /v2/library/debian/manifests/12
expect 403
req GET /v2/library/debian/manifests/12
expect 403 DENIED
jq -r '.errors[0].message' "$B" | grep -q "_customs/scan/$deb" ||
	fail "the refusal does not point at the report: $(cat "$B")"
req GET "/v2/library/debian/manifests/$deb"
expect 403 DENIED
req HEAD /v2/library/clean/manifests/v1
expect 200
[ "$(hdr Docker-Content-Digest)" = "$clean" ] || fail "clean digest (HEAD)"
req GET /v2/library/clean/manifests/v1
expect 200
[ "$(hdr Docker-Content-Digest)" = "$clean" ] || fail "clean digest"
# The index passes; the platform it leads to is judged.
req GET /v2/library/multi/manifests/v1
expect 200
[ "$(hdr Docker-Content-Digest)" = "$idx" ] || fail "index digest"
req GET "/v2/library/multi/manifests/$deb"
expect 403 DENIED
