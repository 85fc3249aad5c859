#!/bin/bash
# t_scan_formats.sh: `customs scan` input formats and outputs, no DB needed:
# a layered image with a whiteout, gzip/zstd/plain layers, OCI layout vs
# OCI archive vs docker-save tarball (made by skopeo when installed), an
# image index, tag selection, table and CycloneDX output, and the report's
# "no vulnerability data" note.  Exit 0 pass, 1 fail, 77 skip.
# backend: none (`customs scan` on files: no server, no store)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
CUSTOMS=$BUILD/customs
DATA=$ROOT/tests/data
for tool in jq tar gzip zstd sha256sum; do
	command -v $tool >/dev/null || { echo "skip: $tool missing"; exit 77; }
done
[ -x "$CUSTOMS" ] || { echo "skip: $CUSTOMS not built"; exit 77; }
. "$DATA/images/mklayout.sh"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" # no ./var/vulndb.db here
fail=0
bad() { echo "FAIL: $*"; fail=1; }
inventory() { # report -> sorted "eco name version path" lines
	jq -r '.packages[] | [.ecosystem, .name, .version, .path] | @tsv' "$1" | sort
}

I=$DATA/images
fixture_stage "$I/debian-bookworm-minbase" "$T/s/l1"
# Layer 2 deletes the dpkg database and brings an apk one; layer 3 adds
# a Python package.
mkdir -p "$T/s/l2/var/lib/dpkg" "$T/s/l2/lib/apk/db"
: >"$T/s/l2/var/lib/dpkg/.wh.status"
cp "$I/alpine-3.10.4/lib/apk/db/installed" "$T/s/l2/lib/apk/db/"
mkdir -p "$T/s/l3/usr/lib/python3/dist-packages"
cp -a "$I/python-bookworm/usr/lib/python3/dist-packages/black-23.1.0.dist-info" \
	"$T/s/l3/usr/lib/python3/dist-packages/"

L=$T/layout
oci_image "$L" layered "$T/s/l1" "$T/s/l2" "$T/s/l3" >/dev/null
LAYER_COMPRESS=zstd oci_image "$L" layered-zstd "$T/s/l1" "$T/s/l2" "$T/s/l3" >/dev/null
LAYER_COMPRESS=none oci_image "$L" layered-tar "$T/s/l1" "$T/s/l2" "$T/s/l3" >/dev/null
deb_man=$(oci_image "$L" debian "$T/s/l1")

"$CUSTOMS" scan "$L:layered" >r.json || bad "scan layered: exit $?"
jq -e '[.packages[] | select(.ecosystem == "Debian")] | length == 0' r.json \
	>/dev/null || bad "whited-out dpkg database still reported"
jq -e '[.packages[] | select(.ecosystem == "Alpine")] | length == 14' r.json \
	>/dev/null || bad "apk packages of layer 2 missing"
jq -e '[.packages[] | select(.ecosystem == "PyPI" and .name == "black")] |
	length == 1' r.json >/dev/null || bad "python package of layer 3 missing"
jq -e '(.layers | length) == 3 and
	([.packages[] | select(.ecosystem == "PyPI")][0].layer == .layers[2]) and
	([.packages[] | select(.ecosystem == "Alpine")][0].layer == .layers[1])' \
	r.json >/dev/null || bad "packages not tagged with their layers"
jq -e '.os.id == "debian" and .os.version_id == "12"' r.json >/dev/null ||
	bad "os-release through its symlink not found"
jq -e '.db == null and .vulnerabilities == [] and .counts == "no data" and
	any(.notes[]; startswith("no vulnerability data"))' r.json >/dev/null ||
	bad "missing DB not reported"
inventory r.json >inv.gz
for t in layered-zstd layered-tar; do
	"$CUSTOMS" scan "$L:$t" >r2.json || bad "scan $t: exit $?"
	inventory r2.json | cmp -s - inv.gz || bad "$t: inventory differs from gzip"
done

# Tags: the only image needs no tag; several do.
"$CUSTOMS" scan "$L" >/dev/null 2>err.txt
[ $? -eq 2 ] && grep -q "layered" err.txt || bad "untagged scan of several images"
"$CUSTOMS" scan "$L:nosuch" >/dev/null 2>err.txt
[ $? -eq 2 ] && grep -q "no image tagged 'nosuch'" err.txt || bad "unknown tag"
"$CUSTOMS" scan "$T/none" >/dev/null 2>&1
[ $? -eq 2 ] || bad "missing input should exit 2"
"$CUSTOMS" scan --format xml "$L:debian" >/dev/null 2>&1
[ $? -eq 2 ] || bad "bad --format should exit 2"
"$CUSTOMS" scan --fail-on severe "$L:debian" >/dev/null 2>&1
[ $? -eq 2 ] || bad "bad --fail-on should exit 2"
# Without a DB, --fail-on cannot judge: its own status, never "clean".
"$CUSTOMS" scan --fail-on low "$L:debian" >/dev/null 2>err.txt
[ $? -eq 4 ] && grep -q "cannot judge --fail-on low: no vulnerability data" \
	err.txt || bad "--fail-on without a DB should exit 4: $(cat err.txt)"
"$CUSTOMS" scan --format table "$L:debian" 2>/dev/null |
	grep -q "^Findings: unknown, no data" || bad "table without a DB"
"$CUSTOMS" scan "$L:debian" >/dev/null 2>&1 || bad "scan without --fail-on: $?"
"$CUSTOMS" scan --help | grep -q "fail-on" || bad "--help"
"$CUSTOMS" scan --db "$T/nonexistent.db" "$L:debian" >/dev/null 2>&1
[ $? -eq 2 ] || bad "an explicit --db that is missing should exit 2"

# Table and --output.
"$CUSTOMS" scan --format table --output t.txt "$L:debian" || bad "table exit $?"
grep -q "Packages: 88" t.txt && grep -q "Debian GNU/Linux 12" t.txt ||
	bad "table output"

# CycloneDX, validated against the 1.5 schema when jsonschema is there.
"$CUSTOMS" scan --format cyclonedx "$L:layered" >bom.json || bad "cyclonedx exit $?"
jq -e '.bomFormat == "CycloneDX" and .specVersion == "1.5" and
	(.components | length) == 15 and
	any(.components[]; .purl == "pkg:apk/alpine/libssl1.1@1.1.1d-r2?distro=3.10.4&upstream=openssl" or
		(.purl | startswith("pkg:apk/alpine/libssl1.1@1.1.1d-r2"))) and
	any(.components[]; .purl == "pkg:pypi/black@23.1.0")' bom.json >/dev/null ||
	bad "cyclonedx content"
if python3 -c 'import jsonschema' 2>/dev/null; then
	python3 "$ROOT/tests/integration/sbom_check.py" "$DATA" cyclonedx bom.json ||
		bad "cyclonedx schema"
else
	echo "note: python3 jsonschema missing, CycloneDX schema check skipped"
fi

# An index with two platforms: one report each inside the index's.
alp_man=$(oci_image "$T/tmp-layout" alpine "$T/s/l2")
cp -n "$T/tmp-layout/blobs/sha256/"* "$L/blobs/sha256/"
size() { stat -c %s "$L/blobs/sha256/${1#sha256:}"; }
jq -cn --arg a "$deb_man" --argjson asz "$(size "$deb_man")" \
	--arg b "$alp_man" --argjson bsz "$(size "$alp_man")" '{
	schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
	manifests: [
	 {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $a,
	  size: $asz, platform: {os: "linux", architecture: "amd64"}},
	 {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $b,
	  size: $bsz, platform: {os: "linux", architecture: "arm64", variant: "v8"}},
	 {mediaType: "application/vnd.oci.image.manifest.v1+json",
	  digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000",
	  size: 2, platform: {os: "linux", architecture: "s390x"}}]}' >idx.json
read -r idx isz < <(oci_blob "$L" idx.json)
jq --arg d "$idx" --argjson s "$isz" '.manifests += [{
	mediaType: "application/vnd.oci.image.index.v1+json", digest: $d,
	size: $s, annotations: {"org.opencontainers.image.ref.name": "multi"}}]' \
	"$L/index.json" >i.tmp && mv i.tmp "$L/index.json"
"$CUSTOMS" scan "$L:multi" >m.json || bad "index scan exit $?"
jq -e --arg d "$idx" '.image.digest == $d and (.manifests | length) == 2 and
	.manifests[0].image.platform.architecture == "amd64" and
	(.manifests[0].packages | length) == 88 and
	.manifests[1].image.platform.variant == "v8" and
	(.manifests[1].packages | length) == 14 and
	any(.notes[]; test("s390x"))' m.json >/dev/null ||
	bad "index report"
"$CUSTOMS" scan --format table "$L:multi" | grep -q "2 platforms" ||
	bad "index table"

# The same image as OCI archive and docker-save tarball, and compressed.
if command -v skopeo >/dev/null; then
	inventory r.json >want.txt
	skopeo copy -q "oci:$L:layered" "oci-archive:$T/oci.tar:layered" &&
	skopeo copy -q "oci:$L:layered" "docker-archive:$T/docker.tar:test/layered:1" ||
		bad "skopeo copy failed"
	gzip -k "$T/docker.tar"
	for f in oci.tar docker.tar docker.tar.gz "docker.tar:test/layered:1"; do
		"$CUSTOMS" scan "$T/$f" >a.json || bad "scan $f: exit $?"
		inventory a.json | cmp -s - want.txt || bad "$f: inventory differs"
	done
	jq -e '.image.digest == null and (.image.config | startswith("sha256:")) and
		.image.repository == "docker.io/test/layered" and .image.tag == "1"' \
		a.json >/dev/null || bad "docker-save report image"
	"$CUSTOMS" scan "$T/docker.tar:other:tag" >/dev/null 2>&1
	[ $? -eq 2 ] || bad "docker-save: unknown tag should exit 2"
else
	echo "note: skopeo missing, archive formats skipped"
fi

[ $fail -eq 0 ] && echo "ok: formats"
exit $fail
