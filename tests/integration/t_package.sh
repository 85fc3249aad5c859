#!/bin/bash
# The Debian package: dpkg-buildpackage builds customs_*.deb from a copy of
# the tree, lintian finds no error, and the package's files, unpacked into
# a throw-away root (dpkg -x), serve a push and a pull.  The maintainer
# scripts are checked for what they must do; they run in a fresh Debian 12
# root: apt-get installs the package into it and the service's user serves
# a push and a pull from it.  The root is a minbase tarball, $DEBIAN_ROOT_TAR
# if set, else made once with debootstrap under the build directory.
. "$(dirname "$0")/lib.sh"
need dpkg-buildpackage dpkg-deb dh
# The package builds its own binary, whatever $BUILD holds: one run (the
# plain build's) is enough, the sanitizer run would only repeat it.
if ldd "$CUSTOMS" 2>/dev/null | grep -q libasan; then
	skip "the package builds its own binary; tested with the plain build"
fi
[ "$(id -u)" = 0 ] || command -v fakeroot >/dev/null ||
	skip "dpkg-buildpackage needs root or fakeroot"

# A copy of the tree without build output: what is committed, plus
# what is being worked on.
SRC=$TMP/src/customs
mkdir -p "$SRC"
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$ROOT" ls-files -co --exclude-standard -z |
		(cd "$ROOT" && tar --null -T - -cf -) | tar -C "$SRC" -xf -
else
	tar -C "$ROOT" --exclude='./build*' --exclude=./var -cf - . |
		tar -C "$SRC" -xf -
fi
[ -f "$SRC/debian/rules" ] || fail "the copy has no debian/rules"

# noddebs: no debug symbol package; nocheck is implied (dh_auto_test is
# overridden) but says so.
(cd "$SRC" && DEB_BUILD_OPTIONS="parallel=2 nocheck noddebs" \
	dpkg-buildpackage -us -uc -b) >"$TMP/build.log" 2>&1 ||
	fail "dpkg-buildpackage: $(tail -n 20 "$TMP/build.log")"
VER=$(cd "$SRC" && dpkg-parsechangelog -SVersion)
DEB=$(ls "$TMP"/src/customs_*.deb)
[ "$DEB" = "$TMP/src/customs_${VER}_$(dpkg --print-architecture).deb" ] ||
	fail "unexpected package file(s): $DEB"

if command -v lintian >/dev/null; then
	lintian --fail-on error "$DEB" >"$TMP/lintian.log" 2>&1 ||
		fail "lintian: $(grep -v 'root privileges' "$TMP/lintian.log")"
	grep '^[EW]:' "$TMP/lintian.log" || true
else
	echo "lintian is not installed: the package is not linted"
fi

# What the package holds and promises.
dpkg-deb -c "$DEB" | awk '{ print $6 }' | grep -v '/$' | sort >"$TMP/files"
for f in ./usr/bin/customs ./lib/systemd/system/customs.service \
	./etc/customs/customs.json ./usr/share/man/man1/customs.1.gz \
	./usr/share/man/man5/customs-config.5.gz \
	./usr/share/doc/customs/copyright; do
	grep -qxF "$f" "$TMP/files" || fail "the package lacks $f"
done
dpkg-deb -f "$DEB" Depends | grep -q 'adduser' ||
	fail "Depends lacks adduser: $(dpkg-deb -f "$DEB" Depends)"
dpkg-deb -e "$DEB" "$TMP/control"
grep -qx /etc/customs/customs.json "$TMP/control/conffiles" ||
	fail "the example config is not a conffile"
grep -q 'adduser --system' "$TMP/control/postinst" ||
	fail "postinst does not create the customs user"
grep -q "deb-systemd-helper enable 'customs.service'" "$TMP/control/postinst" ||
	fail "postinst does not enable customs.service"

# Unpacked into a throw-away root: --version (the copy has no git, so no
# commit), then serve, push, pull.
R=$TMP/root
dpkg -x "$DEB" "$R"
CUSTOMS=$R/usr/bin/customs
"$CUSTOMS" --version >"$TMP/version" || fail "customs --version failed"
grep -qx "customs $VER (commit unknown)" "$TMP/version" ||
	fail "customs --version: $(head -n 1 "$TMP/version")"
grep -q '^sqlite ' "$TMP/version" || fail "--version lacks the libraries"
"$CUSTOMS" version | cmp -s - "$TMP/version" ||
	fail "customs version and customs --version differ"

start_server --config "$R/etc/customs/customs.json"
dg=$(push_image pkg/hello v1 "$TMP" hello)
req GET /v2/pkg/hello/manifests/v1 -H "Accept: $OCI_MANIFEST"
expect 200
same_file "$B" "$TMP/manifest-hello.json"
[ "$(hdr Docker-Content-Digest)" = "$dg" ] || fail "pulled another digest"
req GET "/v2/pkg/hello/blobs/$(sha256 "$TMP/layer-hello.tar.gz")"
expect 200
same_file "$B" "$TMP/layer-hello.tar.gz"
stop_server

# In a fresh Debian 12 root: apt-get resolves the dependencies, postinst
# makes the user and its data directory.  The root is outside $TMP so
# that nothing removes it while /proc is mounted in it.
BASE=${DEBIAN_ROOT_TAR:-$ROOT/$BUILD/debian-root/bookworm-minbase.tar}
make_root() {
	local mirror r

	mirror=$(awk '/^URIs:/ { print $2; exit }' \
		/etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
	[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
	mkdir -p "$(dirname "$BASE")"
	r=$(mktemp -d "$(dirname "$BASE")/mk.XXXXXX")
	if debootstrap --variant=minbase bookworm "$r" "$mirror" \
		>"$TMP/debootstrap.log" 2>&1 &&
		tar -C "$r" -cf "$BASE.part" . && mv "$BASE.part" "$BASE"; then
		rm -rf --one-file-system "$r"
		return 0
	fi
	rm -rf --one-file-system "$r" "$BASE.part"
	echo "debootstrap failed: $(tail -n 1 "$TMP/debootstrap.log")"
	return 1
}
if [ "$(id -u)" != 0 ] || ! command -v debootstrap >/dev/null ||
	{ [ ! -f "$BASE" ] && ! make_root; }; then
	echo "no fresh Debian 12 root (needs root and debootstrap, or" \
		"DEBIAN_ROOT_TAR): not installed with apt"
	echo "ok: $(basename "$DEB") built, linted, served a push and a pull"
	exit 0
fi
FR=$(mktemp -d /var/tmp/customs-pkgroot.XXXXXX)
fresh_cleanup() {
	local rc=$?

	if [ -n "$PID" ]; then
		kill -TERM "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
		PID=
	fi
	if ! mountpoint -q "$FR/proc" || umount "$FR/proc"; then
		rm -rf --one-file-system "$FR"
	fi
	(exit "$rc")
	lib_cleanup
}
trap fresh_cleanup EXIT
tar -C "$FR" -xf "$BASE"
chmod 755 "$FR"
cp /etc/resolv.conf "$FR/etc/resolv.conf"
cp "$DEB" "$FR/root/"
mount -t proc proc "$FR/proc"
chroot "$FR" env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
	>"$TMP/apt.log" 2>&1 ||
	skip "apt-get update in the fresh root failed (no network?): $(tail -n 1 "$TMP/apt.log")"
chroot "$FR" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	--no-install-recommends "/root/$(basename "$DEB")" >>"$TMP/apt.log" 2>&1 ||
	fail "apt-get install of the package: $(tail -n 5 "$TMP/apt.log")"
# The first line only: the fresh root's libraries may be other versions.
[ "$(chroot "$FR" customs --version | head -n 1)" = "$(head -n 1 "$TMP/version")" ] ||
	fail "customs --version in the fresh root"
chroot "$FR" getent passwd customs >/dev/null || fail "postinst made no user"
[ "$(chroot "$FR" stat -c %U /var/lib/customs)" = customs ] ||
	fail "/var/lib/customs is not the user's"
chroot --userspec=customs:customs "$FR" /usr/bin/customs serve \
	--config /etc/customs/customs.json --data /var/lib/customs \
	--listen 127.0.0.1:0 --port-file /var/lib/customs/port \
	>"$TMP/fresh.log" 2>&1 &
PID=$!
timeout 10 sh -c 'until [ -s "$1" ]; do sleep 0.05; done' sh \
	"$FR/var/lib/customs/port" ||
	fail "serve in the fresh root did not start: $(cat "$TMP/fresh.log")"
PORT=$(cat "$FR/var/lib/customs/port")
URL=http://127.0.0.1:$PORT
dg=$(push_image fresh/hello v1 "$TMP" hello)
req GET "/v2/fresh/hello/manifests/$dg" -H "Accept: $OCI_MANIFEST"
expect 200
same_file "$B" "$TMP/manifest-hello.json"
req GET "/v2/fresh/hello/blobs/$(sha256 "$TMP/layer-hello.tar.gz")"
expect 200
same_file "$B" "$TMP/layer-hello.tar.gz"
stop_server
echo "ok: $(basename "$DEB") built, linted, installed with apt, served a push and a pull"
