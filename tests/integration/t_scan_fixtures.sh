#!/bin/bash
# t_scan_fixtures.sh: end to end, `customs scan` on OCI images built from
# the fixture package databases (tests/data/images) against a DB imported
# from the fixture advisories (tests/data/advisories) must report exactly
# the 71 findings of tests/data/expected/expected-matches.tsv.
# Exit 0 pass, 1 fail, 77 skip.
# backend: none (`customs scan` on files: no server, no store)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
CUSTOMS=$BUILD/customs
DATA=$ROOT/tests/data
for tool in jq tar gzip sha256sum xz; do
	command -v $tool >/dev/null || { echo "skip: $tool missing"; exit 77; }
done
[ -x "$CUSTOMS" ] || { echo "skip: $CUSTOMS not built"; exit 77; }
ADV=${SCAN_ADVISORIES:-$DATA/advisories}
[ -d "$ADV" ] || { echo "skip: no $ADV"; exit 77; }
. "$DATA/images/mklayout.sh"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# The advisories: OSV records and Alpine secdb (other formats stay out).
inputs=()
for d in osv alpine-secdb; do
	[ -d "$ADV/$d" ] && inputs+=("$ADV/$d")
done
[ ${#inputs[@]} -gt 0 ] || inputs=("$ADV")
if ! "$CUSTOMS" db import --db "$T/vuln.db" "${inputs[@]}" >"$T/import.log" 2>&1; then
	cat "$T/import.log"
	bad "db import failed"
	exit 1
fi

# One image per fixture.  The Alpine 3.18 database came without an
# os-release, so its image gets etc/alpine-release (3.18.0, the release
# its package versions belong to) in a layer of its own.
I=$DATA/images
fixture_stage "$I/debian-bookworm-minbase" "$T/s/debian"
fixture_stage "$I/alpine-3.10.4" "$T/s/alpine310"
fixture_stage "$I/alpine-3.18.0" "$T/s/alpine318"
mkdir -p "$T/s/alpine318-release/etc"
echo 3.18.0 >"$T/s/alpine318-release/etc/alpine-release"
fixture_stage "$I/python-bookworm" "$T/s/pybookworm"
fixture_stage "$I/python-trixie" "$T/s/pytrixie"
mkdir -p "$T/s/npm/srv"
cp -a "$I/npm-app" "$T/s/npm/srv/app"
mkdir -p "$T/s/rpm/var/lib/rpm"
xz -dc "$I/rpm-cbl-mariner-2.0/var/lib/rpm/rpmdb.sqlite.xz" \
	>"$T/s/rpm/var/lib/rpm/rpmdb.sqlite"

L=$T/layout
oci_image "$L" debian-bookworm-minbase "$T/s/debian" >/dev/null
oci_image "$L" alpine-3.10.4 "$T/s/alpine310" >/dev/null
oci_image "$L" alpine-3.18.0 "$T/s/alpine318" "$T/s/alpine318-release" >/dev/null
oci_image "$L" python-bookworm "$T/s/pybookworm" >/dev/null
oci_image "$L" python-trixie "$T/s/pytrixie" >/dev/null
oci_image "$L" npm-app "$T/s/npm" >/dev/null
oci_image "$L" rpm-cbl-mariner-2.0 "$T/s/rpm" >/dev/null

# fixture name in the answer key -> tag, expected package count
declare -A npkgs=([debian-bookworm-minbase]=88 [alpine-3.10.4]=14
	[alpine-3.18.0]=15 [python-bookworm]=5 [python-trixie]=2 [npm-app]=9
	[rpm-cbl-mariner-2.0]=129)
: >"$T/actual.tsv"
for tag in "${!npkgs[@]}"; do
	"$CUSTOMS" scan --db "$T/vuln.db" "$L:$tag" >"$T/$tag.json"
	rc=$?
	[ $rc -eq 0 ] || bad "$tag: scan exit $rc"
	n=$(jq '.packages | length' "$T/$tag.json")
	[ "$n" = "${npkgs[$tag]}" ] || bad "$tag: $n packages, want ${npkgs[$tag]}"
	jq -r --arg f "$tag" '.vulnerabilities[] |
		[$f, .package.name, .installed, .id, (.fixed // "")] | @tsv' \
		"$T/$tag.json" >>"$T/actual.tsv"
	jq -e '.db.version | type == "string"' "$T/$tag.json" >/dev/null ||
		bad "$tag: report names no DB version"
done

# The answer key: fixture, package (npm: the install path's last name),
# installed version, advisory, fixed version.
tail -n +2 "$DATA/expected/expected-matches.tsv" | awk -F'\t' '{
	fx = $3; sub(/^images\//, "", fx); sub(/\/.*/, "", fx)
	pkg = $4; sub(/.*node_modules\//, "", pkg)
	print fx "\t" pkg "\t" $6 "\t" $7 "\t" $8 }' | sort >"$T/expected.tsv"
sort "$T/actual.tsv" >"$T/actual.sorted"
if ! diff -u "$T/expected.tsv" "$T/actual.sorted"; then
	bad "findings differ from the answer key (- expected, + reported)"
fi
[ "$(wc -l <"$T/expected.tsv")" -eq 71 ] || bad "answer key is not 71 lines"

# Layer attribution: alpine 3.18's packages come from its first layer.
l1=$(jq -r '.layers[0]' "$T/alpine-3.18.0.json")
jq -e --arg l "$l1" 'all(.packages[]; .layer == $l)' "$T/alpine-3.18.0.json" \
	>/dev/null || bad "alpine-3.18.0: packages not tagged with layer 1"
jq -e '.os.id == "alpine" and .os.version_id == "3.18.0"' \
	"$T/alpine-3.18.0.json" >/dev/null || bad "alpine-3.18.0: OS not found"

# --fail-on: Debian has only findings of unknown severity here.
"$CUSTOMS" scan --db "$T/vuln.db" --fail-on unknown "$L:debian-bookworm-minbase" \
	>/dev/null
[ $? -eq 1 ] || bad "--fail-on unknown should exit 1"
"$CUSTOMS" scan --db "$T/vuln.db" --fail-on critical "$L:debian-bookworm-minbase" \
	>/dev/null
[ $? -eq 0 ] || bad "--fail-on critical with findings below it should exit 0"
# No advisory source covers CBL-Mariner's rpm packages (nor an OS without
# os-release): no findings there is no verdict.
"$CUSTOMS" scan --db "$T/vuln.db" --fail-on critical "$L:rpm-cbl-mariner-2.0" \
	>/dev/null
[ $? -eq 4 ] || bad "--fail-on critical on unmatched rpm packages should exit 4"
jq -e '.notes == ["no advisory source covers an OS without os-release: its 129 rpm packages were not matched"]' \
	"$T/rpm-cbl-mariner-2.0.json" >/dev/null ||
	bad "rpm-cbl-mariner-2.0 notes: $(jq -c .notes "$T/rpm-cbl-mariner-2.0.json")"

[ $fail -eq 0 ] && echo "ok: 71 findings as expected"
exit $fail
