#!/bin/bash
# SBOM referrers: each scanned image gets its inventory as an SPDX 2.3 and
# a CycloneDX 1.5 referrer (artifact types application/spdx+json and
# application/vnd.cyclonedx+json, as trivy and oras attach them), valid
# against their schemas, listing the report's packages with their purls.
# A re-match against a new DB keeps them (same inventory); deleting the
# image drops them; --sbom-referrers=false publishes none.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"
need python3
python3 -c 'import jsonschema' 2>/dev/null ||
	skip "python3 jsonschema missing (Debian python3-jsonschema)"

SPDX_T=application/spdx+json
CDX_T=application/vnd.cyclonedx+json
enc() { printf '%s' "$1" | sed 's/+/%2B/'; }

sp_layout
mkdir -p "$DATA"
sp_db "$DATA/vulndb.db" alpine-secdb
start_server --scan-workers 1

# sbom REPO DIGEST TYPE KIND OUT: the one referrer of TYPE, checked and
# validated; its document into OUT, its manifest digest printed.
sbom() {
	local repo=$1 dg=$2 type=$3 kind=$4 out=$5 ref

	req GET "/v2/$repo/referrers/$dg?artifactType=$(enc "$type")"
	expect 200
	jq -e --arg t "$type" '(.manifests | length) == 1 and
		.manifests[0].artifactType == $t and
		(.manifests[0].annotations["dev.customs.sbom.inventory"] |
			startswith("sha256:"))' "$B" >/dev/null ||
		fail "$repo $type referrers: $(cat "$B")"
	ref=$(jq -r '.manifests[0].digest' "$B")
	req GET "/v2/$repo/manifests/$ref"
	expect 200
	jq -e --arg t "$type" --arg d "$dg" '.subject.digest == $d and
		.artifactType == $t and .layers[0].mediaType == $t and
		(.layers | length) == 1' "$B" >/dev/null ||
		fail "$repo $type manifest: $(cat "$B")"
	req GET "/v2/$repo/blobs/$(jq -r '.layers[0].digest' "$B")"
	expect 200
	cp "$B" "$out"
	python3 "$(dirname "$0")/sbom_check.py" "$SP_DATA" "$kind" "$out" \
		>"$TMP/check.log" 2>&1 ||
		fail "$repo $type not valid: $(tail -n 5 "$TMP/check.log")"
	echo "$ref"
}

req GET /v2/_customs/db
v0=$(jq -r .version "$B")
declare -A SPDX_REF CDX_REF DG
for kind in debian alpine310 npm; do
	dg=$(sp_push "$kind" "sb/$kind" v1)
	DG[$kind]=$dg
	sp_report "sb/$kind" "$dg" 60
	cp "$B" "$TMP/$kind.report"
	# The SBOMs follow the report: there once the job is done.
	sp_wait_idle "$v0"
	SPDX_REF[$kind]=$(sbom "sb/$kind" "$dg" "$SPDX_T" spdx "$TMP/$kind.spdx")
	CDX_REF[$kind]=$(sbom "sb/$kind" "$dg" "$CDX_T" cyclonedx "$TMP/$kind.cdx")
	# The same packages as the report, with the same purls.
	jq -c '[.packages[] | [.name, .version, .purl]] | sort' \
		"$TMP/$kind.report" >"$TMP/want"
	[ "$(jq 'length' "$TMP/want")" -gt 0 ] || fail "$kind: no packages"
	jq -c '[.packages[] | select(.SPDXID | startswith("SPDXRef-Package-")) |
		[.name, .versionInfo, (.externalRefs[] |
		select(.referenceType == "purl") | .referenceLocator)]] |
		sort' "$TMP/$kind.spdx" >"$TMP/spdx"
	jq -c '[.components[] | [.name, .version, .purl]] | sort' \
		"$TMP/$kind.cdx" >"$TMP/cdx"
	diff "$TMP/want" "$TMP/spdx" >&2 || fail "$kind: SPDX packages differ"
	diff "$TMP/want" "$TMP/cdx" >&2 || fail "$kind: CycloneDX packages differ"
	# An SBOM, not a vulnerability report; the image is what it describes.
	jq -e '.vulnerabilities == null and .specVersion == "1.5" and
		.metadata.component.type == "container"' "$TMP/$kind.cdx" \
		>/dev/null || fail "$kind: CycloneDX document"
	jq -e --arg d "$dg" '.spdxVersion == "SPDX-2.3" and
		any(.relationships[]; .spdxElementId == "SPDXRef-DOCUMENT" and
			.relationshipType == "DESCRIBES" and
			.relatedSpdxElement == "SPDXRef-Image") and
		any(.packages[]; .SPDXID == "SPDXRef-Image" and
			.versionInfo == $d)' "$TMP/$kind.spdx" >/dev/null ||
		fail "$kind: SPDX document"
	echo "$kind: $(jq length "$TMP/want") packages in both SBOMs"
done
# purls of each ecosystem, as the purl spec spells them.
jq -e 'all(.components[]; .purl | startswith("pkg:deb/debian/")) and
	any(.components[]; .purl | test("^pkg:deb/debian/[^@]+@[^?]+\\?.*distro=debian-12"))' \
	"$TMP/debian.cdx" >/dev/null || fail "debian purls"
jq -e 'all(.components[]; .purl | startswith("pkg:apk/alpine/"))' \
	"$TMP/alpine310.cdx" >/dev/null || fail "alpine purls"
jq -e 'any(.components[]; .purl | startswith("pkg:npm/"))' \
	"$TMP/npm.cdx" >/dev/null || fail "npm purls"

# --- A new DB re-matches the reports; the inventories, so the SBOMs, stay.
req GET /v2/_customs/db
v1=$(jq -r .version "$B")
sp_wait_idle "$v1"
sp_feed_zip "$TMP/all.zip"
req POST /v2/_customs/db --data-binary "@$TMP/all.zip" \
	-H 'Content-Type: application/zip'
expect 200
v2=$(jq -r .version "$B")
sp_wait_idle "$v2"
sp_report sb/debian "${DG[debian]}" 0
jq -e --arg v "$v2" '.db.version == $v' "$B" >/dev/null ||
	fail "debian report not re-matched"
for kind in debian alpine310 npm; do
	req GET "/v2/sb/$kind/referrers/${DG[$kind]}"
	jq -e --arg s "${SPDX_REF[$kind]}" --arg c "${CDX_REF[$kind]}" \
		--arg st "$SPDX_T" --arg ct "$CDX_T" '
		[.manifests[] | select(.artifactType == $st) | .digest] == [$s] and
		[.manifests[] | select(.artifactType == $ct) | .digest] == [$c]' \
		"$B" >/dev/null || fail "$kind SBOMs replaced by a re-match: $(cat "$B")"
done

# --- Deleting the image drops its SBOMs with its report.
req DELETE "/v2/sb/npm/manifests/${DG[npm]}"
expect 202
req GET "/v2/sb/npm/referrers/${DG[npm]}"
expect 200
jq -e '.manifests == []' "$B" >/dev/null || fail "referrers kept: $(cat "$B")"
req GET "/v2/sb/npm/manifests/${SPDX_REF[npm]}"
expect 404 MANIFEST_UNKNOWN
stop_server

# --- Off: the report alone.
start_server --scan-workers 1 --sbom-referrers=false
dg=$(sp_push npm sb/off v1)
sp_report sb/off "$dg" 60
req GET "/v2/sb/off/referrers/$dg"
expect 200
jq -e '[.manifests[].artifactType] ==
	["application/vnd.customs.scan.report.v1+json"]' "$B" >/dev/null ||
	fail "--sbom-referrers=false: $(cat "$B")"
stop_server
