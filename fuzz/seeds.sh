#!/bin/sh
# seeds.sh DIR: seeds for the fuzz targets from the test fixtures
# (tests/data/), one directory per target under DIR.  The hand-written
# seeds and regression inputs live in fuzz/corpus/<name>/ instead.
set -eu
out=${1:?usage: seeds.sh DIR}
cd "$(dirname "$0")/.."
img=tests/data/images
rm -rf "$out"
mkdir -p "$out"

# copy TARGET FILE...: each file becomes one seed, named by its path.
copy() {
	t=$1
	shift
	mkdir -p "$out/$t"
	for f in "$@"; do
		[ -f "$f" ] && cp "$f" "$out/$t/$(echo "$f" | tr / _)"
	done
	return 0
}

copy dpkg $img/*/var/lib/dpkg/status
copy apk $img/*/lib/apk/db/installed
copy python $(find $img -name METADATA -o -name PKG-INFO)
copy npm $(find $img -name package-lock.json -o -name package.json)
copy osv $(find tests/data/advisories -name '*.json')
copy tracker $(find tests/data/debian-tracker -name '*.json')
copy nvd tests/data/feeds/nvd/records/*.json tests/data/feeds/nvd/*.json.gz
copy java tests/data/runtimes/manifests/*.MF
copy content tests/data/content-manifests/*.json
# runtime: the first byte picks the detector (fuzz_runtime.c); 2 is Java.
mkdir -p "$out/runtime"
for f in tests/data/runtimes/java/*.release; do
	{ printf '\002'; cat "$f"; } >"$out/runtime/$(basename "$f")"
done

# rpmdb: the small BerkeleyDB and NDB databases, decompressed.
mkdir -p "$out/rpmdb"
for f in tests/data/rpmdb/bdb/centos-8-dive.Packages.xz \
	tests/data/rpmdb/bdb/fedora-32-hello-epoch.Packages.xz \
	tests/data/rpmdb/bdb/rhel-8.8-libuuid.Packages.xz \
	tests/data/rpmdb/ndb/sle15-bci-minimal-15.3-2021.Packages.db.xz; do
	command -v xz >/dev/null &&
		xz -dc "$f" >"$out/rpmdb/$(basename "$f" .xz)" || true
done

# rpm: the package headers of the rpmdb fixture, one blob per seed.
db=tests/data/images/rpm-cbl-mariner-2.0/var/lib/rpm/rpmdb.sqlite.xz
if [ -f "$db" ] && command -v sqlite3 >/dev/null && command -v xz >/dev/null
then
	mkdir -p "$out/rpm"
	xz -dc "$db" >"$out/rpmdb.sqlite"
	(cd "$out/rpm" && sqlite3 ../rpmdb.sqlite \
		"SELECT writefile('hdr-' || hnum, blob) FROM (SELECT hnum,
		 blob FROM Packages ORDER BY length(blob) LIMIT 12)" >/dev/null)
	rm -f "$out/rpmdb.sqlite"
else
	echo "seeds.sh: no sqlite3 or xz: rpm starts from fuzz/corpus only" >&2
fi
