#!/bin/bash
# The pull policy on pulled-through images: with --deny-severity, the first
# GET of an image the cache has never seen waits for its blobs to be
# fetched and its scan to finish, then is refused (findings) or served (a
# clean image); the second GET is judged at once from the stored report.
# HEAD is judged as GET.  An index is not gated; its platform manifest is.
# An artifact (a Helm chart) gets no scan job: it is served at once.
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
read -r idx isz < <(oci_multi "$L" "$deb/amd64")

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

# An artifact (a Helm chart's config type) is not an image: it gets no scan
# job, so the policy serves it at once instead of waiting on a scan that
# can only fail.
up_blob() {
	local loc sep

	loc=$(curl -sS -o /dev/null -D - -X POST "$UP_URL/v2/$1/blobs/uploads/" |
		awk 'tolower($1) == "location:" { print $2 }' | tr -d '\r')
	case $loc in http*) ;; *) loc=$UP_URL$loc ;; esac
	case $loc in *\?*) sep='&' ;; *) sep='?' ;; esac
	curl -sfS -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' \
		--data-binary "@$2" "$loc${sep}digest=$(sha256 "$2")" ||
		fail "push of blob $2 to the upstream"
}
echo '{"name":"chart","version":"1.0.0"}' >"$TMP/chart.json"
echo 'not a layer' >"$TMP/chart.tgz"
up_blob library/chart "$TMP/chart.json"
up_blob library/chart "$TMP/chart.tgz"
jq -cn --arg c "$(sha256 "$TMP/chart.json")" --arg l "$(sha256 "$TMP/chart.tgz")" \
	--argjson cs "$(stat -c %s "$TMP/chart.json")" \
	--argjson ls "$(stat -c %s "$TMP/chart.tgz")" '{
	schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
	config: {mediaType: "application/vnd.cncf.helm.config.v1+json",
	  digest: $c, size: $cs},
	layers: [{mediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
	  digest: $l, size: $ls}]}' >"$TMP/chart-manifest.json"
code=$(curl -sS -o "$TMP/up.out" -w '%{http_code}' -X PUT \
	-H "Content-Type: application/vnd.oci.image.manifest.v1+json" \
	--data-binary "@$TMP/chart-manifest.json" \
	"$UP_URL/v2/library/chart/manifests/1.0.0")
[ "$code" = 201 ] || fail "push of the chart to the upstream: $code $(cat "$TMP/up.out")"
req GET /v2/library/chart/manifests/1.0.0
expect 200
[ "$(hdr Docker-Content-Digest)" = "$(sha256 "$TMP/chart-manifest.json")" ] ||
	fail "chart digest"
req GET /v2/library/chart/_customs/scan/1.0.0
expect 200
jq -e '.status == "not-scanned"' "$B" >/dev/null || fail "chart: $(cat "$B")"
