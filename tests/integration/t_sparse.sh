#!/bin/bash
# Sparse content: an index whose platforms are not all pushed (skopeo
# --multi-arch index-only, podman manifest push --all=false), an image whose
# non-distributable layers live elsewhere (OCI nondistributable, Docker
# foreign, urls).  Accepted by default; scan-on-push scans what is there
# and notes the rest; fsck finds no damage; gc keeps a platform pushed
# later; --refuse-sparse (flag or config key) refuses them.
. "$(dirname "$0")/lib.sh"
need skopeo
start_server

skopeo_setup
W=$TMP/w
mkdir -p "$W"

# scan_report REPO REF: waits for the scan report (200) into $B.
scan_report() {
	for _ in $(seq 1 50); do
		req GET "/v2/$1/_customs/scan/$2?wait=2"
		[ "$STATUS" = 200 ] && return 0
		sleep 0.1
	done
	fail "no scan report of $1:$2: $STATUS $(cat "$B")"
}

# desc FILE MEDIA_TYPE [ARCH]: a descriptor of FILE (with a platform).
desc() {
	jq -nc --arg t "$2" --arg d "$(sha256 "$1")" \
		--argjson s "$(stat -c %s "$1")" --arg a "${3:-}" \
		'{mediaType: $t, digest: $d, size: $s} +
		 if $a == "" then {} else {platform: {architecture: $a, os: "linux"}} end'
}

ma=$(make_image "$W" amd64)
mb=$(make_image "$W" arm64)
jq -nc --arg t "$OCI_INDEX" --argjson a "$(desc "$ma" "$OCI_MANIFEST" amd64)" \
	--argjson b "$(desc "$mb" "$OCI_MANIFEST" arm64)" \
	'{schemaVersion: 2, mediaType: $t, manifests: [$a, $b]}' >"$W/index.json"
idx=$(sha256 "$W/index.json")

# 1. An index with one of its two platforms: accepted, served as pushed.
push_blob sp/multi "$W/config-amd64.json" >/dev/null
push_blob sp/multi "$W/layer-amd64.tar.gz" >/dev/null
push_manifest sp/multi "$(sha256 "$ma")" "$ma" "$OCI_MANIFEST"
push_manifest sp/multi v1 "$W/index.json" "$OCI_INDEX"
req GET /v2/sp/multi/manifests/v1
expect 200
same_file "$B" "$W/index.json"
req HEAD "/v2/sp/multi/manifests/$(sha256 "$mb")"
expect 404

# 2. Layers that live elsewhere, absent: accepted.
push_blob sp/win "$W/config-amd64.json" >/dev/null
jq -c --arg d1 "sha256:$(printf 1 | sha256sum | cut -d' ' -f1)" \
	--arg d2 "sha256:$(printf 2 | sha256sum | cut -d' ' -f1)" \
	--arg d3 "sha256:$(printf 3 | sha256sum | cut -d' ' -f1)" \
	'.layers = [
	  {mediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	   digest: $d1, size: 1},
	  {mediaType: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
	   digest: $d2, size: 1, urls: ["https://example.com/base"]},
	  {mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
	   digest: $d3, size: 1, urls: ["https://example.com/l3"]}]' \
	"$ma" >"$W/win.json"
push_manifest sp/win v1 "$W/win.json" "$OCI_MANIFEST"
# An ordinary layer must still be there.
jq -c '.layers[0].mediaType = "application/vnd.oci.image.layer.v1.tar+gzip"' \
	"$W/win.json" >"$W/bad.json"
req PUT /v2/sp/win/manifests/bad --data-binary "@$W/bad.json" \
	-H "Content-Type: $OCI_MANIFEST"
expect 400 MANIFEST_BLOB_UNKNOWN

# 3. Scan-on-push: the index's report covers the platform that is there
# and notes the other; the image's absent layers are noted, not a failure.
scan_report sp/multi v1
[ "$(jq '.manifests | length' "$B")" = 1 ] || fail "index report: $(cat "$B")"
jq -r '.notes[]' "$B" | grep -q "$(sha256 "$mb")" ||
	fail "index report does not note the missing platform: $(jq -c .notes "$B")"
scan_report sp/win v1
jq -r '.notes[]' "$B" | grep -q "non-distributable and not present" ||
	fail "image report does not note the absent layers: $(jq -c .notes "$B")"

# 4. skopeo --multi-arch index-only pushes the index alone.
jq -c '.annotations = {"org.example.copy": "index-only"}' "$W/index.json" \
	>"$W/index2.json"
L=$TMP/layout
mkdir -p "$L/blobs/sha256"
for f in "$ma" "$mb" "$W/index2.json" "$W/config-amd64.json" \
	"$W/layer-amd64.tar.gz" "$W/config-arm64.json" "$W/layer-arm64.tar.gz"; do
	h=$(sha256 "$f")
	cp "$f" "$L/blobs/sha256/${h#sha256:}"
done
printf '{"imageLayoutVersion":"1.0.0"}' >"$L/oci-layout"
jq -nc --argjson d "$(desc "$W/index2.json" "$OCI_INDEX")" \
	'{schemaVersion: 2, manifests: [$d +
	  {annotations: {"org.opencontainers.image.ref.name": "multi"}}]}' \
	>"$L/index.json"
"${SK[@]}" copy -q --multi-arch index-only --dest-tls-verify=false \
	"oci:$L:multi" "docker://$REG/sp/indexonly:v1" ||
	fail "skopeo copy --multi-arch index-only"
req GET /v2/sp/indexonly/manifests/v1
expect 200
same_file "$B" "$W/index2.json"
req HEAD "/v2/sp/indexonly/manifests/$(sha256 "$ma")"
expect 404
# A single platform of it, then the whole index: skopeo completes it.
"${SK[@]}" copy -q --all --dest-tls-verify=false \
	"oci:$L:multi" "docker://$REG/sp/indexonly:v1" ||
	fail "skopeo copy --all onto the sparse index"
req HEAD "/v2/sp/indexonly/manifests/$(sha256 "$mb")"
expect 200

# podman manifest push --all=false pushes a list without its images (here
# they live in another repository).  No local layers are needed.
PM=(podman --root "$TMP/root" --runroot "$TMP/runroot" --storage-driver vfs
	--cgroup-manager cgroupfs --events-backend none)
if command -v podman >/dev/null && "${PM[@]}" images >/dev/null 2>&1; then
	"${PM[@]}" manifest create localhost/sparse >/dev/null ||
		fail "podman manifest create"
	"${PM[@]}" manifest add --tls-verify=false localhost/sparse \
		"docker://$REG/sp/multi@$(sha256 "$ma")" >/dev/null ||
		fail "podman manifest add"
	"${PM[@]}" manifest push -q --tls-verify=false --all=false \
		localhost/sparse "docker://$REG/sp/podman:v1" ||
		fail "podman manifest push --all=false"
	req GET /v2/sp/podman/manifests/v1 -H "Accept: $OCI_INDEX"
	expect 200
	[ "$(jq -r '.manifests[0].digest' "$B")" = "$(sha256 "$ma")" ] ||
		fail "podman's list: $(cat "$B")"
	req HEAD "/v2/sp/podman/manifests/$(sha256 "$ma")"
	expect 404
else
	echo "podman cannot run here: its sparse list is not tried"
fi

# 5. fsck: sparse content is no damage.
customs_run fsck --data "$DATA" >"$TMP/fsck.log" 2>&1 ||
	fail "fsck of sparse content: $(tail -n 5 "$TMP/fsck.log")"

# 6. The missing platform arrives, untagged: gc --gc-untagged keeps it
# (the index lists it).
push_blob sp/multi "$W/config-arm64.json" >/dev/null
push_blob sp/multi "$W/layer-arm64.tar.gz" >/dev/null
push_manifest sp/multi "$(sha256 "$mb")" "$mb" "$OCI_MANIFEST"
stop_server
customs_run gc --data "$DATA" --gc-grace 0 --gc-untagged --max-sweep-share 100 >"$TMP/gc.log" 2>&1 ||
	fail "gc: $(tail -n 5 "$TMP/gc.log")"
customs_run fsck --data "$DATA" >"$TMP/fsck.log" 2>&1 ||
	fail "fsck after gc: $(tail -n 5 "$TMP/fsck.log")"

# 7. --refuse-sparse, and the same as a config key.
start_server --refuse-sparse
req PUT /v2/sp/strict/manifests/v1 --data-binary "@$W/index.json" \
	-H "Content-Type: $OCI_INDEX"
expect 400 MANIFEST_BLOB_UNKNOWN
req GET /v2/sp/multi/manifests/v1
expect 200
req HEAD "/v2/sp/multi/manifests/$(sha256 "$mb")"
expect 200
stop_server
printf '{"refuse-sparse": true}' >"$TMP/config.json"
start_server --config "$TMP/config.json"
push_blob sp/win2 "$W/config-amd64.json" >/dev/null
req PUT /v2/sp/win2/manifests/v1 --data-binary "@$W/win.json" \
	-H "Content-Type: $OCI_MANIFEST"
expect 400 MANIFEST_BLOB_UNKNOWN
grep -q "sparse content is refused" "$B" || fail "refusal: $(cat "$B")"
stop_server
