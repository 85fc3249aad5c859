#!/bin/bash
# Manifests: push by tag and by digest, pull byte for byte, the media types
# we accept and refuse, missing references, size cap, subject/referrers,
# and deletes.  After each refused push the stored manifest is unchanged.
. "$(dirname "$0")/lib.sh"
start_server --max-manifest 65536

W=$TMP/w
mkdir -p "$W"
m=$(make_image "$W" one)
mdg=$(sha256 "$m")
cfg=$W/config-one.json
layer=$W/layer-one.tar.gz
cdg=$(sha256 "$cfg")
ldg=$(sha256 "$layer")

# The blobs must be there first.
req PUT /v2/app/manifests/v1 --data-binary "@$m" \
	-H "Content-Type: $OCI_MANIFEST"
expect 400 MANIFEST_BLOB_UNKNOWN
grep -q "$cdg\|$ldg" "$B" || fail "error does not name the blob: $(cat "$B")"
push_blob app "$cfg" >/dev/null
req PUT /v2/app/manifests/v1 --data-binary "@$m" \
	-H "Content-Type: $OCI_MANIFEST"
expect 400 MANIFEST_BLOB_UNKNOWN
push_blob app "$layer" >/dev/null

push_manifest app v1 "$m" "$OCI_MANIFEST"
expect_hdr Location "/v2/app/manifests/$mdg"
expect_hdr Docker-Content-Digest "$mdg"
[ -z "$(hdr OCI-Subject)" ] || fail "OCI-Subject without a subject"

# Pull: by tag and by digest, the same bytes and type.
check_stored() {
	local ref
	for ref in v1 "$mdg"; do
		req GET "/v2/app/manifests/$ref" -H "Accept: $OCI_MANIFEST"
		expect 200
		same_file "$B" "$m"
		expect_hdr Content-Type "$OCI_MANIFEST"
		expect_hdr Docker-Content-Digest "$mdg"
	done
	req HEAD /v2/app/manifests/v1
	expect 200
	expect_hdr Content-Length "$(stat -c %s "$m")"
	expect_hdr Docker-Content-Digest "$mdg"
	expect_hdr Content-Type "$OCI_MANIFEST"
}
check_stored

# Push by digest: fine when it matches, DIGEST_INVALID when not.
push_manifest app "$mdg" "$m" "$OCI_MANIFEST"
req PUT "/v2/app/manifests/sha256:$(printf 'f%.0s' $(seq 1 64))" \
	--data-binary "@$m" -H "Content-Type: $OCI_MANIFEST"
expect 400 DIGEST_INVALID

# Refused pushes that try to overwrite tag v1; v1 must not change.
bad() { # bad STATUS CODE CONTENT-TYPE BODY [grep]
	printf '%s' "$4" >"$TMP/bad.json"
	req PUT /v2/app/manifests/v1 --data-binary "@$TMP/bad.json" \
		-H "Content-Type: $3"
	expect "$1" "$2"
	[ -z "${5:-}" ] || grep -qi "$5" "$B" ||
		fail "error lacks '$5': $(cat "$B")"
	check_stored
}
bad 400 MANIFEST_INVALID "$OCI_MANIFEST" '{"schemaVersion":2,' "JSON"
bad 400 MANIFEST_INVALID "$OCI_MANIFEST" '' "JSON"
bad 400 MANIFEST_INVALID "$OCI_MANIFEST" '[1,2]'
bad 400 MANIFEST_INVALID application/vnd.docker.distribution.manifest.v1+json \
	'{"schemaVersion":1,"name":"app","tag":"v1","fsLayers":[],"history":[]}' \
	"schema 1"
bad 400 MANIFEST_INVALID application/vnd.docker.distribution.manifest.v1+prettyjws \
	'{"schemaVersion":1,"name":"app","tag":"v1","fsLayers":[],"signatures":[]}' \
	"schema 1"
bad 400 MANIFEST_INVALID application/json '{"schemaVersion":1,"fsLayers":[]}' \
	"schema 1"
# Content-Type and mediaType disagree.
bad 400 MANIFEST_INVALID "$OCI_INDEX" "$(cat "$m")" "does not match"
bad 400 MANIFEST_INVALID "$OCI_MANIFEST" \
	"$(jq -c '.config.digest = "sha256:nothex"' "$m")" "config"
bad 400 MANIFEST_INVALID "$OCI_MANIFEST" "$(jq -c 'del(.config)' "$m")" "config"
bad 400 MANIFEST_INVALID "$OCI_MANIFEST" \
	"$(jq -c '.layers[0].size = 1' "$m")" "bytes"
bad 400 MANIFEST_BLOB_UNKNOWN "$OCI_MANIFEST" \
	"$(jq -c ".layers[0].digest = \"sha256:$(printf '1%.0s' $(seq 1 64))\"" "$m")"
# Over --max-manifest (64 KiB here): 413, whether or not the length is
# declared up front.
head -c 70000 /dev/zero | tr '\0' ' ' >"$TMP/big.json"
req PUT /v2/app/manifests/v1 --data-binary "@$TMP/big.json" \
	-H "Content-Type: $OCI_MANIFEST"
expect 413 SIZE_INVALID
check_stored
req PUT /v2/app/manifests/v1 -T - -H 'Transfer-Encoding: chunked' \
	-H "Content-Type: $OCI_MANIFEST" <"$TMP/big.json"
expect 413 SIZE_INVALID
check_stored
# Malformed references.
req PUT /v2/app/manifests/-bad --data-binary "@$m" \
	-H "Content-Type: $OCI_MANIFEST"
expect 400 MANIFEST_INVALID
req GET /v2/app/manifests/sha256:123
expect 400 DIGEST_INVALID
req GET /v2/app/manifests/nope
expect 404 MANIFEST_UNKNOWN
req GET "/v2/nothere/manifests/v1"
[ "$STATUS" = 404 ] || fail "unknown repo: $STATUS"

# A foreign layer (urls) need not be in the store.
jq -c --arg d "sha256:$(printf '2%.0s' $(seq 1 64))" \
	'.layers += [{"mediaType":"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip","digest":$d,"size":5,"urls":["https://example.com/x"]}]' \
	"$m" >"$TMP/foreign.json"
push_manifest app foreign "$TMP/foreign.json" "$OCI_MANIFEST"

# Docker schema 2 and a manifest list.
jq -c '.mediaType = "application/vnd.docker.distribution.manifest.v2+json"
	| .config.mediaType = "application/vnd.docker.container.image.v1+json"
	| .layers[0].mediaType = "application/vnd.docker.image.rootfs.diff.tar.gzip"' \
	"$m" >"$TMP/docker.json"
DOCKER_M=application/vnd.docker.distribution.manifest.v2+json
DOCKER_L=application/vnd.docker.distribution.manifest.list.v2+json
push_manifest app docker "$TMP/docker.json" "$DOCKER_M"
ddg=$(sha256 "$TMP/docker.json")
req GET /v2/app/manifests/docker
expect_hdr Content-Type "$DOCKER_M"
same_file "$B" "$TMP/docker.json"
printf '{"schemaVersion":2,"mediaType":"%s","manifests":[{"mediaType":"%s","digest":"%s","size":%d,"platform":{"architecture":"amd64","os":"linux"}}]}' \
	"$DOCKER_L" "$DOCKER_M" "$ddg" "$(stat -c %s "$TMP/docker.json")" \
	>"$TMP/list.json"
push_manifest app list "$TMP/list.json" "$DOCKER_L"

# An OCI index: its children need not all be in the repository (sparse
# content: t_sparse.sh; --refuse-sparse refuses it).
printf '{"schemaVersion":2,"mediaType":"%s","manifests":[{"mediaType":"%s","digest":"%s","size":%d}]}' \
	"$OCI_INDEX" "$OCI_MANIFEST" "$mdg" "$(stat -c %s "$m")" >"$TMP/index.json"
push_manifest app index "$TMP/index.json" "$OCI_INDEX"
push_manifest other index "$TMP/index.json" "$OCI_INDEX"
req HEAD "/v2/other/manifests/$mdg"
expect 404
jq -c ".manifests[0].digest = \"sha256:$(printf '3%.0s' $(seq 1 64))\"" \
	"$TMP/index.json" >"$TMP/index-sparse.json"
push_manifest app index-sparse "$TMP/index-sparse.json" "$OCI_INDEX"
req GET /v2/app/manifests/index
same_file "$B" "$TMP/index.json"

# Referrers: an artifact with a subject (pushed before its subject exists
# is fine too), listed with its artifactType and annotations.
printf '{}' >"$TMP/empty.json"
edg=$(push_blob app "$TMP/empty.json")
echo "sbom" >"$TMP/sbom.txt"
sdg=$(push_blob app "$TMP/sbom.txt")
art() { # art ARTIFACT_TYPE SUBJECT OUT
	printf '{"schemaVersion":2,"mediaType":"%s","artifactType":"%s","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"text/plain","digest":"%s","size":5}],"subject":{"mediaType":"%s","digest":"%s","size":%d},"annotations":{"org.example.kind":"%s"}}' \
		"$OCI_MANIFEST" "$1" "$edg" "$sdg" "$OCI_MANIFEST" "$2" \
		"$(stat -c %s "$m")" "$1" >"$3"
}
art application/vnd.example.sbom "$mdg" "$TMP/a1.json"
art application/vnd.example.sig+json "$mdg" "$TMP/a2.json"
ghost=sha256:$(printf '4%.0s' $(seq 1 64))
art application/vnd.example.sbom "$ghost" "$TMP/a3.json"
a1=$(sha256 "$TMP/a1.json")
a2=$(sha256 "$TMP/a2.json")
req PUT "/v2/app/manifests/$a1" --data-binary "@$TMP/a1.json" \
	-H "Content-Type: $OCI_MANIFEST"
expect 201
expect_hdr OCI-Subject "$mdg"
push_manifest app "$a2" "$TMP/a2.json" "$OCI_MANIFEST"
push_manifest app "$(sha256 "$TMP/a3.json")" "$TMP/a3.json" "$OCI_MANIFEST"
expect_hdr OCI-Subject "$ghost"

req GET "/v2/app/referrers/$mdg"
expect 200
expect_hdr Content-Type "$OCI_INDEX"
[ -z "$(hdr OCI-Filters-Applied)" ] || fail "filter header without a filter"
# The scanner files its report and the image's SBOMs as referrers too,
# whenever it gets to them: the checks look at the artifacts pushed here.
pushed='[.manifests[] | select(.annotations["org.example.kind"] != null)]'
jq -e --arg a1 "$a1" --arg a2 "$a2" --arg it "$OCI_INDEX" '
	.schemaVersion == 2 and .mediaType == $it
	and ('"$pushed"' | length) == 2
	and ('"$pushed"' | map(.digest) | sort) == ([$a1, $a2] | sort)
	and (.manifests[] | select(.digest == $a1)
		| .artifactType == "application/vnd.example.sbom"
		and .annotations["org.example.kind"] == "application/vnd.example.sbom"
		and .size > 0 and .mediaType != null)' "$B" >/dev/null ||
	fail "referrers: $(cat "$B")"
# The filter, escaped or not ('+' in a query is a space to most parsers).
for q in application/vnd.example.sig+json application%2Fvnd.example.sig%2Bjson; do
	req GET "/v2/app/referrers/$mdg?artifactType=$q"
	expect 200
	expect_hdr OCI-Filters-Applied artifactType
	jq -e --arg a2 "$a2" '.manifests | length == 1 and .[0].digest == $a2' \
		"$B" >/dev/null || fail "filtered referrers: $(cat "$B")"
done
req GET "/v2/app/referrers/$mdg?artifactType=application/vnd.example.none"
expect 200
expect_hdr OCI-Filters-Applied artifactType
jq -e '.manifests == []' "$B" >/dev/null || fail "filter matched: $(cat "$B")"
req GET "/v2/app/referrers/$ghost"
jq -e '.manifests | length == 1' "$B" >/dev/null || fail "ghost: $(cat "$B")"
# Unknown subjects and repositories: an empty index, never 404.
req GET "/v2/app/referrers/sha256:$(printf '5%.0s' $(seq 1 64))"
expect 200
jq -e '.manifests == []' "$B" >/dev/null || fail "empty referrers: $(cat "$B")"
req GET "/v2/nosuchrepo/referrers/$mdg"
expect 200
jq -e '.manifests == []' "$B" >/dev/null || fail "unknown repo referrers"
req GET /v2/app/referrers/sha256:zzz
expect 400 DIGEST_INVALID
req GET /v2/app/referrers/latest
expect 400 DIGEST_INVALID

# Any other media type is stored as an opaque artifact.
printf '{"kind":"thing","blobs":[{"mediaType":"text/plain","digest":"%s","size":5}]}' \
	"$sdg" >"$TMP/thing.json"
push_manifest app thing "$TMP/thing.json" application/vnd.example.thing+json
req GET /v2/app/manifests/thing
expect_hdr Content-Type application/vnd.example.thing+json
same_file "$B" "$TMP/thing.json"

# Deletes: a tag (the manifest stays), then the manifest by digest.
push_manifest app v2 "$m" "$OCI_MANIFEST"
req DELETE /v2/app/manifests/v2
expect 202
req GET /v2/app/manifests/v2
expect 404 MANIFEST_UNKNOWN
req GET /v2/app/manifests/v1
expect 200
req DELETE /v2/app/manifests/v2
expect 404 MANIFEST_UNKNOWN
req DELETE "/v2/app/manifests/$a2"
expect 202
req GET "/v2/app/manifests/$a2"
expect 404 MANIFEST_UNKNOWN
req GET "/v2/app/referrers/$mdg"
jq -e --arg a1 "$a1" "$pushed"' | map(.digest) == [$a1]' "$B" >/dev/null ||
	fail "referrers after delete: $(cat "$B")"

# The manifest survives a restart.
stop_server
start_server
check_stored
stop_server
