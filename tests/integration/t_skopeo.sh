#!/bin/bash
# skopeo copies an OCI layout built here (a gzipped tar of a small rootfs,
# config, manifest, index.json) into the registry and back, then a
# two-platform index with --all.  Blobs and manifests come back byte for
# byte.
. "$(dirname "$0")/lib.sh"
need skopeo
start_server

W=$TMP/w
mkdir -p "$W"
printf '{"default":[{"type":"insecureAcceptAnything"}]}' >"$TMP/policy.json"
SK=(skopeo --policy "$TMP/policy.json" --registries-conf /dev/null)
export REGISTRY_AUTH_FILE=$TMP/auth.json
echo '{}' >"$REGISTRY_AUTH_FILE"

# layout_add LAYOUT FILE: copies FILE into LAYOUT's blobs; prints digest.
layout_add() {
	local dg

	dg=$(sha256 "$2")
	mkdir -p "$1/blobs/sha256"
	cp "$2" "$1/blobs/sha256/${dg#sha256:}"
	echo "$dg"
}

# make_layout LAYOUT: index.json lists $ENTRIES (descriptor JSON lines).
make_layout() {
	printf '{"imageLayoutVersion":"1.0.0"}' >"$1/oci-layout"
	jq -sc '{schemaVersion: 2, manifests: .}' "$ENTRIES" >"$1/index.json"
}

# image ARCH: makes an image for ARCH into $L; prints its manifest path.
image() {
	local m

	m=$(make_image "$W" "$1")
	jq -c --arg a "$1" '.architecture = $a' "$W/config-$1.json" \
		>"$W/config-$1.tmp"
	mv "$W/config-$1.tmp" "$W/config-$1.json"
	jq -c --arg d "$(sha256 "$W/config-$1.json")" \
		--argjson s "$(stat -c %s "$W/config-$1.json")" \
		'.config.digest = $d | .config.size = $s' "$m" >"$m.tmp"
	mv "$m.tmp" "$m"
	layout_add "$L" "$W/config-$1.json" >/dev/null
	layout_add "$L" "$W/layer-$1.tar.gz" >/dev/null
	layout_add "$L" "$m" >/dev/null
	echo "$m"
}

L=$TMP/layout
ENTRIES=$TMP/entries
mkdir -p "$L"
m=$(image amd64)
jq -nc --arg t "$OCI_MANIFEST" --arg d "$(sha256 "$m")" \
	--argjson s "$(stat -c %s "$m")" \
	'{mediaType: $t, digest: $d, size: $s,
	  annotations: {"org.opencontainers.image.ref.name": "v1"}}' >"$ENTRIES"
m2=$(image arm64)
printf '{"schemaVersion":2,"mediaType":"%s","manifests":[{"mediaType":"%s","digest":"%s","size":%d,"platform":{"architecture":"amd64","os":"linux"}},{"mediaType":"%s","digest":"%s","size":%d,"platform":{"architecture":"arm64","os":"linux"}}]}' \
	"$OCI_INDEX" "$OCI_MANIFEST" "$(sha256 "$m")" "$(stat -c %s "$m")" \
	"$OCI_MANIFEST" "$(sha256 "$m2")" "$(stat -c %s "$m2")" >"$W/index.json"
idg=$(layout_add "$L" "$W/index.json")
jq -nc --arg t "$OCI_INDEX" --arg d "$idg" \
	--argjson s "$(stat -c %s "$W/index.json")" \
	'{mediaType: $t, digest: $d, size: $s,
	  annotations: {"org.opencontainers.image.ref.name": "multi"}}' >>"$ENTRIES"
make_layout "$L"

# One image in and out.
"${SK[@]}" copy -q --dest-tls-verify=false "oci:$L:v1" \
	"docker://$REG/sk/img:v1" || fail "skopeo copy to the registry"
req GET /v2/sk/img/manifests/v1
expect 200
same_file "$B" "$m"
"${SK[@]}" inspect --tls-verify=false "docker://$REG/sk/img:v1" >"$TMP/inspect.json" ||
	fail "skopeo inspect"
[ "$(jq -r .Digest "$TMP/inspect.json")" = "$(sha256 "$m")" ] ||
	fail "inspect digest: $(jq -r .Digest "$TMP/inspect.json")"
[ "$(jq -r .Architecture "$TMP/inspect.json")" = amd64 ] || fail "inspect arch"
"${SK[@]}" copy -q --src-tls-verify=false "docker://$REG/sk/img:v1" \
	"oci:$TMP/back:v1" || fail "skopeo copy from the registry"
for f in "$m" "$W/config-amd64.json" "$W/layer-amd64.tar.gz"; do
	h=$(sha256 "$f")
	same_file "$f" "$TMP/back/blobs/sha256/${h#sha256:}"
done

# Copying again: every blob is already there (HEAD), nothing re-uploaded.
"${SK[@]}" copy -q --dest-tls-verify=false "oci:$L:v1" \
	"docker://$REG/sk/img:v1-again" || fail "second copy"

# A multi-platform index with --all, and back.
"${SK[@]}" copy -q --all --dest-tls-verify=false "oci:$L:multi" \
	"docker://$REG/sk/multi:latest" || fail "skopeo copy --all to the registry"
req GET /v2/sk/multi/manifests/latest
expect 200
same_file "$B" "$W/index.json"
expect_hdr Content-Type "$OCI_INDEX"
req GET "/v2/sk/multi/manifests/$(sha256 "$m2")"
same_file "$B" "$m2"
"${SK[@]}" copy -q --all --src-tls-verify=false \
	"docker://$REG/sk/multi:latest" "oci:$TMP/back2:multi" ||
	fail "skopeo copy --all from the registry"
for f in "$W/index.json" "$m" "$m2" "$W/config-arm64.json" "$W/layer-arm64.tar.gz"; do
	h=$(sha256 "$f")
	same_file "$f" "$TMP/back2/blobs/sha256/${h#sha256:}"
done
# Cross-repository: skopeo mounts blobs the registry already has.
"${SK[@]}" copy -q --src-tls-verify=false --dest-tls-verify=false \
	"docker://$REG/sk/img:v1" "docker://$REG/sk/copy:v1" ||
	fail "registry to registry copy"
req GET /v2/sk/copy/manifests/v1
same_file "$B" "$m"
req GET /v2/sk/copy/tags/list
[ "$(jq -c .tags "$B")" = '["v1"]' ] || fail "tags: $(cat "$B")"

stop_server
