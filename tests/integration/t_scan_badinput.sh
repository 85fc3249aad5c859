#!/bin/bash
# t_scan_badinput.sh: hostile or broken images give clear errors or notes,
# never a crash, in bounded memory and time: a truncated gzip layer, a
# layer that is not a tar, a missing layer, entries with "..", a status
# file with absurdly long lines, 2 GiB sparse files, a malformed
# package-lock.json, broken manifests.  Exit 0 pass, 1 fail, 77 skip.
# backend: none (`customs scan` on files: no server, no store)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
CUSTOMS=$BUILD/customs
DATA=$ROOT/tests/data
for tool in jq tar gzip sha256sum python3 truncate; do
	command -v $tool >/dev/null || { echo "skip: $tool missing"; exit 77; }
done
[ -x "$CUSTOMS" ] || { echo "skip: $CUSTOMS not built"; exit 77; }
. "$DATA/images/mklayout.sh"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
fail=0
bad() { echo "FAIL: $*"; fail=1; }
# Runs a scan; exit status in $rc.  A crash (signal) fails at once.
scan() {
	"$CUSTOMS" scan "$@" >out.json 2>err.txt
	rc=$?
	[ $rc -lt 128 ] || bad "scan $* died with status $rc: $(cat err.txt)"
}
note() { jq -e --arg s "$1" 'any(.notes[]; contains($s))' out.json >/dev/null; }
layer_blob() { # layout tag index -> path of that layer's blob
	local man
	man=$(jq -r --arg t "$2" '.manifests[] |
		select(.annotations["org.opencontainers.image.ref.name"] == $t) |
		.digest' "$1/index.json")
	jq -r --argjson i "$3" '.layers[$i].digest' \
		"$1/blobs/sha256/${man#sha256:}" | sed 's|sha256:|'"$1"'/blobs/sha256/|'
}

I=$DATA/images
L=$T/layout
fixture_stage "$I/debian-bookworm-minbase" s/deb
head -c 4000000 /dev/urandom >s/deb/zz-noise.bin
mkdir -p s/apk/lib/apk/db
cp "$I/alpine-3.10.4/lib/apk/db/installed" s/apk/lib/apk/db/

# 1. A truncated gzip layer: what was read before counts, and it is noted.
oci_image "$L" trunc s/deb s/apk >/dev/null
blob=$(layer_blob "$L" trunc 0)
truncate -s $(($(stat -c %s "$blob") / 2)) "$blob"
scan "$L:trunc"
[ $rc -eq 3 ] || bad "truncated layer: exit $rc, want 3"
note "read error" || bad "truncated layer: no note"
jq -e '[.packages[] | select(.ecosystem == "Debian")] | length == 88' out.json \
	>/dev/null || bad "truncated layer: packages before the damage lost"
jq -e '[.packages[] | select(.ecosystem == "Alpine")] | length == 14' out.json \
	>/dev/null || bad "truncated layer: the next layer was not read"
grep -q "could not be read completely" err.txt || bad "truncated layer: no warning"

# 2. A layer that is not a tar, and one that is missing.
oci_image "$L" junk s/apk s/apk >/dev/null
blob=$(layer_blob "$L" junk 0)
rm -f "$blob"
head -c 1000 /dev/urandom >"$blob"
scan "$L:junk"
[ $rc -eq 3 ] && note "not analysed" || bad "junk layer: exit $rc"
blob=$(layer_blob "$L" junk 1)
rm -f "$blob"
scan "$L:junk"
[ $rc -eq 3 ] && note "not in the layout" || bad "missing layer: exit $rc"

# 3. Entries with "..": skipped with a note, nothing escapes.
python3 - <<'PY'
import io, tarfile
with tarfile.open("dotdot.tar", "w") as t:
    for name in ("../../var/lib/dpkg/status", "a/../../lib/apk/db/installed",
                 "usr/lib/x-1.dist-info/METADATA"):
        data = open("s/apk/lib/apk/db/installed", "rb").read() if "apk" in name \
            else b"Name: x\nVersion: 1.0\n"
        ti = tarfile.TarInfo(name); ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
PY
mkdir -p s/dotdot && tar -C s/dotdot -xf dotdot.tar 2>/dev/null
oci_image "$L" dotdot s/apk >/dev/null
blob=$(layer_blob "$L" dotdot 0)
gzip -c dotdot.tar >"$blob"
scan "$L:dotdot"
[ $rc -eq 0 ] || bad "dotdot: exit $rc"
note "entries with '..'" || bad "dotdot: no note"
jq -e '(.packages | length) == 1 and .packages[0].name == "x"' out.json \
	>/dev/null || bad "dotdot: entries outside the root were read"

# 4. Absurd lines in a status file: a 20 MB line, a 4 KiB package name.
mkdir -p s/long/var/lib/dpkg
python3 - <<'PY'
with open("s/long/var/lib/dpkg/status", "w") as f:
    f.write("Package: a\nStatus: install ok installed\nVersion: 1.0\n")
    f.write("Description: " + "x" * (20 << 20) + "\n\n")
    f.write("Package: " + "n" * 4096 + "\nStatus: install ok installed\nVersion: 1\n\n")
    f.write("Package: b\nStatus: install ok installed\nVersion: 2.0\n")
PY
oci_image "$L" long s/long >/dev/null
scan "$L:long"
[ $rc -eq 0 ] || bad "long lines: exit $rc"
jq -e '[.packages[].name] == ["a", "b"]' out.json >/dev/null ||
	bad "long lines: wrong packages"
note "1 malformed dpkg entries skipped" || bad "long lines: no note"

# 5. 2 GiB sparse files: skipped fast without being read; wanted ones
# get a "too large" note (and a budget hit when the detector needs it).
mkdir -p s/sparse/srv s/sparse/usr/bin s/sparse/var/lib/dpkg
truncate -s 2G s/sparse/srv/disk.img
{ printf '\177ELF'; } | dd of=s/sparse/usr/bin/huge conv=notrunc 2>/dev/null
truncate -s 2G s/sparse/usr/bin/huge
chmod 755 s/sparse/usr/bin/huge
truncate -s 2G s/sparse/var/lib/dpkg/status
tar -C s/sparse --sparse -cf sparse.tar .
[ "$(stat -c %s sparse.tar)" -lt 1000000 ] || bad "sparse tar not sparse"
oci_image "$L" sparse s/apk >/dev/null
gzip -c sparse.tar >"$(layer_blob "$L" sparse 0)"
rm -rf s/sparse sparse.tar
start=$(date +%s)
if [ -x /usr/bin/time ]; then
	/usr/bin/time -f %M -o rss.txt "$CUSTOMS" scan "$L:sparse" >out.json 2>err.txt
	rc=$?
	rss=$(tail -1 rss.txt)
	[ "$rss" -lt 200000 ] || bad "sparse: peak RSS ${rss} KiB"
else
	scan "$L:sparse"
fi
[ $(($(date +%s) - start)) -le 20 ] || bad "sparse: too slow"
# The status file, over its detector's cap, hides every Debian package: a
# budget hit (incomplete, exit 3), not only a note.  The huge executable
# may not even be Go: a note.
[ $rc -eq 3 ] || bad "sparse: exit $rc"
jq -e '.status == "incomplete" and ([.budgets[].budget] == ["file_bytes"])' \
	out.json >/dev/null || bad "sparse: no file_bytes budget hit"
note "var/lib/dpkg/status: not analysed: too large" &&
	note "usr/bin/huge: not analysed: too large" || bad "sparse: notes"
jq -e '(.notes | length) == 3' out.json >/dev/null || bad "sparse: extra notes"

# 6. A malformed package-lock.json next to a good installed package.
mkdir -p s/npm/app/node_modules/lodash
printf '{"lockfileVersion": 3, "packages": {"node_modules/lodash": {' \
	>s/npm/app/package-lock.json
cp "$I/npm-app/node_modules/lodash/package.json" s/npm/app/node_modules/lodash/
oci_image "$L" npm s/npm >/dev/null
scan "$L:npm"
[ $rc -eq 0 ] || bad "npm: exit $rc"
note "app/package-lock.json: not analysed: malformed JSON" || bad "npm: no note"
jq -e '[.packages[].name] == ["lodash"]' out.json >/dev/null || bad "npm: packages"

# 6b. Sparse content: an index with a platform that is not there (the
# present one is scanned, the other noted), a non-distributable layer that
# is absent (noted; the scan is not incomplete for it).
mdesc() { # TAG -> the index.json descriptor of TAG, with a platform
	jq -c --arg t "$1" '.manifests[] |
		select(.annotations["org.opencontainers.image.ref.name"] == $t) |
		del(.annotations) + {platform: {architecture: "amd64", os: "linux"}}' \
		"$L/index.json"
}
index_add() { # FILE TAG: FILE becomes a blob, named TAG in index.json
	local dg sz
	read -r dg sz < <(oci_blob "$L" "$1")
	jq --arg d "$dg" --argjson s "$sz" --arg t "$2" --arg mt "$3" \
		'.manifests += [{mediaType: $mt, digest: $d, size: $s,
		  annotations: {"org.opencontainers.image.ref.name": $t}}]' \
		"$L/index.json" >"$L/index.tmp" && mv "$L/index.tmp" "$L/index.json"
}
oci_image "$L" spa s/apk >/dev/null
oci_image "$L" spb s/npm >/dev/null
jq -nc --argjson a "$(mdesc spa)" --argjson b "$(mdesc spb)" \
	'{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
	  manifests: [$a, $b]}' >sparse-index.json
gone=$(mdesc spb | jq -r .digest)
rm "$L/blobs/sha256/${gone#sha256:}"
index_add sparse-index.json multi application/vnd.oci.image.index.v1+json
scan "$L:multi"
[ $rc -eq 0 ] || bad "sparse index: exit $rc $(cat err.txt)"
note "($gone) is not present (a sparse index)" || bad "sparse index: no note"
jq -e '(.manifests | length) == 1' out.json >/dev/null ||
	bad "sparse index: not one platform report"
oci_image "$L" nd s/apk s/npm >/dev/null
man=$(mdesc nd | jq -r .digest)
layer=$(layer_blob "$L" nd 1)
rm "$layer"
jq -c '.layers[1].mediaType =
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" |
	.layers[1].urls = ["https://example.com/base.tgz"]' \
	"$L/blobs/sha256/${man#sha256:}" >nd.json
index_add nd.json nd2 application/vnd.oci.image.manifest.v1+json
scan "$L:nd2"
[ $rc -eq 0 ] || bad "non-distributable layer: exit $rc $(cat err.txt)"
note "non-distributable and not present" || bad "non-distributable: no note"
jq -e '[.packages[] | select(.ecosystem == "Alpine")] | length == 14' out.json \
	>/dev/null || bad "non-distributable: the present layer was not read"

# 7. Broken image metadata: clear errors, exit 2.
man=$(jq -r '.manifests[0].digest' "$L/index.json")
cp -r "$L" L2
cfg=$(jq -r .config.digest "L2/blobs/sha256/${man#sha256:}")
rm "L2/blobs/sha256/${cfg#sha256:}"
scan "L2:trunc"
[ $rc -eq 2 ] && grep -q "not found\|not in the layout" err.txt ||
	bad "missing config: exit $rc $(cat err.txt)"
echo '{"schemaVersion": 2, "manifests": [' >"L2/index.json"
scan L2
[ $rc -eq 2 ] && grep -q "index.json" err.txt || bad "broken index.json: exit $rc"
echo '{"schemaVersion":2,"manifests":[{"digest":"sha256:'"${man#sha256:}"'","size":1}]}' \
	>"L2/index.json"
echo 'not json' >"L2/blobs/sha256/${man#sha256:}"
scan L2
[ $rc -eq 2 ] && grep -q "manifest" err.txt || bad "broken manifest: exit $rc"
head -c 5000 /dev/urandom >random.tar
scan random.tar
[ $rc -eq 2 ] || bad "random tarball: exit $rc"

[ $fail -eq 0 ] && echo "ok: bad input handled"
exit $fail
