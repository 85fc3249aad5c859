#!/bin/bash
# Per-layer indexes: two images on one Debian base, their blobs pushed with
# curl before their manifests.  Each layer is indexed once, as its upload
# completes (the base's too, though both images carry it); the manifest
# PUT only merges, so the report is there right after it, names the layer
# that brought each package and the history line of each layer, and lists
# what a scan of the whole image (--scan-layers=false) lists.  A RHEL
# image whose content manifest (in a layer of its own) puts it on the 9.2
# EUS stream gets that stream's records from the merge too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"

s=$TMP/stage
fixture_stage "$SP_DATA/images/debian-bookworm-minbase" "$s/debian"
mkdir -p "$s/npm/srv"
cp -a "$SP_DATA/images/npm-app" "$s/npm/srv/app"
OCI_HISTORY='[{"created_by": "ADD rootfs.tar /"},
	{"created_by": "ENV LANG=C.UTF-8", "empty_layer": true},
	{"created_by": "COPY python /usr"}]' \
	oci_image "$L" one "$s/debian" "$SP_DATA/images/python-bookworm" >/dev/null
OCI_HISTORY='[{"created_by": "ADD rootfs.tar /"},
	{"created_by": "COPY app /srv/app"}]' \
	oci_image "$L" two "$s/debian" "$s/npm" >/dev/null
m1=$(sp_manifest_file one)
m2=$(sp_manifest_file two)
base=$(jq -r '.layers[0].digest' "$m1")
py=$(jq -r '.layers[1].digest' "$m1")
app=$(jq -r '.layers[1].digest' "$m2")
[ "$base" = "$(jq -r '.layers[0].digest' "$m2")" ] || fail "no shared base layer"

# rhel: an rpm layer (os-release, an rpmdb.sqlite with podman), then a
# layer with only a content manifest.
mkdir -p "$s/rhel/etc" "$s/rhel/var/lib/rpm" \
	"$s/icm/root/buildinfo/content_manifests"
printf '%s\n' 'ID="rhel"' 'VERSION_ID="9.2"' >"$s/rhel/etc/os-release"
python3 "$ROOT/tests/integration/mkrpmdb.py" \
	"$s/rhel/var/lib/rpm/rpmdb.sqlite" 2:podman-4.4.1-14.el9_2
printf '%s\n' '{"content_sets":["rhel-9-for-x86_64-appstream-eus-rpms__9_DOT_2"]}' \
	>"$s/icm/root/buildinfo/content_manifests/app-container-1-1.json"
oci_image "$L" rhel "$s/rhel" "$s/icm" >/dev/null
m3=$(sp_manifest_file rhel)

sp_db "$TMP/vulndb.db" osv alpine-secdb ../osv-distros/RedHat
mkdir -p "$DATA"
cp "$TMP/vulndb.db" "$DATA/vulndb.db"
start_server --scan-workers 2

# layers HOW: customs_scan_layers_total{how="HOW"}.
layers() {
	req GET /metrics
	expect 200
	sed -n "s/^customs_scan_layers_total{how=\"$1\"} //p" "$B"
}

# wait_layers HOW N: until the counter reaches N (the indexing is the
# server's own work, after the uploads' replies).
wait_layers() {
	local i

	for i in $(seq 1 300); do
		[ "$(layers "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	fail "layers $1: $(layers "$1"), not $2"
}

# blobs MANIFEST REPO: every blob it names, config first.
blobs() {
	local dg

	for dg in $(jq -r '.config.digest, .layers[].digest' "$1"); do
		push_blob "$2" "$L/blobs/sha256/${dg#sha256:}" >/dev/null
	done
}

# push_indexed MANIFEST REPO N OUT: its blobs, then (once N layers are
# indexed) the manifest; its report into OUT, asked for right after the
# PUT (no layer is read for it).
push_indexed() {
	blobs "$1" "$2"
	wait_layers indexed "$3"
	push_manifest "$2" v1 "$1" "$OCI_MANIFEST"
	sp_report "$2" "$(sha256 "$1")" 10
	cp "$B" "$4"
}

# --- Image one: its blobs are indexed as they arrive (the config is
# sniffed and skipped), before any manifest names them.
push_indexed "$m1" layers/one 2 "$TMP/one.json"
wait_layers skipped 1
jq -e --arg b "$base" --arg p "$py" '.layer_index == "merged" and
	.os.id == "debian" and
	([.packages[] | select(.ecosystem | startswith("Debian"))] | length) == 88 and
	all(.packages[] | select(.ecosystem | startswith("Debian")); .layer == $b) and
	([.packages[] | select(.ecosystem == "PyPI")] | length) == 5 and
	all(.packages[] | select(.ecosystem == "PyPI"); .layer == $p) and
	.layer_history == [{digest: $b, created_by: "ADD rootfs.tar /"},
			   {digest: $p, created_by: "COPY python /usr"}]' \
	"$TMP/one.json" >/dev/null ||
	fail "image one: $(jq -c '{layer_index, os, layer_history, n: (.packages | length)}' "$TMP/one.json")"

# --- Image two, on the same base: only its own layer is read.  The
# base's blob is uploaded again (as a client that does not HEAD first
# does) and not indexed again.
push_indexed "$m2" layers/two 3 "$TMP/two.json"
d2=$(sha256 "$m2")
jq -e --arg b "$base" --arg a "$app" '.layer_index == "merged" and
	all(.packages[] | select(.ecosystem | startswith("Debian")); .layer == $b) and
	([.packages[] | select(.ecosystem == "npm")] | length) > 0 and
	all(.packages[] | select(.ecosystem == "npm"); .layer == $a) and
	all(.vulnerabilities[]; .package.layer == $a or .package.layer == $b) and
	(.vulnerabilities | length) > 0 and
	.layer_history[1] == {digest: $a, created_by: "COPY app /srv/app"}' \
	"$TMP/two.json" >/dev/null ||
	fail "image two: $(jq -c '{layer_index, layer_history, v: (.vulnerabilities | length)}' "$TMP/two.json")"
[ "$(layers indexed)" = 3 ] || fail "layers indexed: $(layers indexed), not 3"
[ "$(layers image)" = 0 ] || fail "whole images read: $(layers image)"
[ "$(layers merged)" = 2 ] || fail "reports merged: $(layers merged)"

# --- The RHEL image: the content set comes from its own layer's index.
push_indexed "$m3" layers/rhel 5 "$TMP/rhel.json"
jq -e '.layer_index == "merged" and
	.os.content_sets == ["rhel-9-for-x86_64-appstream-eus-rpms__9_DOT_2"] and
	[.vulnerabilities[].id] == ["RHSA-2024:8709"] and .notes == []' \
	"$TMP/rhel.json" >/dev/null ||
	fail "rhel: $(jq -c '{layer_index, os, notes, v: [.vulnerabilities[].id]}' "$TMP/rhel.json")"

stop_server

# --- The same image scanned whole: the same inventory and findings.
# (A new data directory: on the dist backend, a new database and prefix.)
DATA=$TMP/data-whole
mkdir -p "$DATA"
cp "$TMP/vulndb.db" "$DATA/vulndb.db"
start_server --scan-workers 2 --scan-layers=false
blobs "$m2" layers/two
push_manifest layers/two v1 "$m2" "$OCI_MANIFEST"
sp_report layers/two "$d2" 60
cp "$B" "$TMP/two-whole.json"
jq -e 'has("layer_index") | not' "$TMP/two-whole.json" >/dev/null ||
	fail "--scan-layers=false merged"
for f in two two-whole; do
	jq -S '[.os, .packages, .vulnerabilities, .counts, .status,
		.filesystem_layers, .layer_history, .notes]' "$TMP/$f.json" \
		>"$TMP/$f.cmp"
done
same_file "$TMP/two.cmp" "$TMP/two-whole.cmp"
[ "$(layers indexed)" = 0 ] || fail "indexed with --scan-layers=false"
[ "$(layers image)" = 2 ] || fail "whole image: $(layers image) layers read"
stop_server

# --- Layers stored while indexing was off have no index: the scan of a
# manifest that names one indexes it first, then merges.
start_server --scan-workers 2
printf '{"schemaVersion":2,"mediaType":"%s","config":%s,"layers":[%s]}' \
	"$OCI_MANIFEST" "$(jq -c .config "$m2")" \
	"$(jq -c '.layers[1]' "$m2")" >"$TMP/three.json"
push_manifest layers/two three "$TMP/three.json" "$OCI_MANIFEST"
sp_report layers/two "$(sha256 "$TMP/three.json")" 30
jq -e --arg a "$app" '.layer_index == "merged" and
	([.packages[] | select(.layer == $a)] | length) > 0' "$B" \
	>/dev/null || fail "image three: $(jq -c '{layer_index, notes}' "$B")"
[ "$(layers indexed)" = 1 ] || fail "image three: $(layers indexed) indexed"
[ "$(layers image)" = 0 ] || fail "image three read whole"
stop_server
echo ok
