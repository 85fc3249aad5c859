#!/bin/bash
# serial: run alone (timing or CPU sensitive; see tests/integration/run)
# backend: none (the installed package runs its own default config)
# The Debian package: dpkg-buildpackage builds customs_*.deb from a copy of
# the tree, lintian finds no error, and the package's files, unpacked into
# a throw-away root (dpkg -x), serve a push and a pull.  The maintainer
# scripts are checked for what they must do; they run in a fresh Debian 12
# root: apt-get installs the package into it and the service's user serves
# a push and a pull from it.  Then an operator's journey there: the
# package's config gains a signed webhook, the installed unit's ExecStart
# starts the service, /healthz, /readyz and /metrics answer, a skopeo push
# brings push and scan.completed to the receiver, ExecReload reloads a new
# DB, `customs backup` runs while serving, the state directory is lost and
# `customs restore` brings back a store fsck finds clean, from which the
# image pulls back byte-identical.  The root is a minbase tarball,
# $DEBIAN_ROOT_TAR if set, else made once with debootstrap under the
# build directory.
. "$(dirname "$0")/lib.sh"
need dpkg-buildpackage dpkg-deb dh skopeo python3 zip
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
	[ -z "${RXPID:-}" ] || kill "$RXPID" 2>/dev/null || true
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
	--db-update-interval 0 >"$TMP/fresh.log" 2>&1 &
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

# --- The operator's journey, on the installed package. -----------------
# The root has no systemd running: what the unit does is done by hand,
# from the installed unit's own lines.  ExecStart= runs as its User= and
# Group= (chroot --userspec), with its UMask= and LimitNOFILE=; the
# sandboxing (ProtectSystem=, PrivateTmp=, ...) and Restart= are not
# applied, StateDirectory= is postinst's /var/lib/customs.  ExecReload=
# runs with $MAINPID replaced, in the root if its binary is there, else
# beside it (one PID namespace).
UNIT=$FR/lib/systemd/system/customs.service
unit_key() { sed -n "s/^$1=//p" "$UNIT" | tail -n 1; }
EXEC_START=$(unit_key ExecStart | sed 's/^[-@+!:]*//')
EXEC_RELOAD=$(unit_key ExecReload | sed 's/^[-@+!:]*//')
U_USER=$(unit_key User)
U_GROUP=$(unit_key Group)
[ -n "$EXEC_START" ] && [ -n "$EXEC_RELOAD" ] || fail "the unit lacks ExecStart or ExecReload"
[ -n "$U_USER" ] || fail "the unit names no User= (DynamicUser= cannot apply in a chroot)"
case "$EXEC_START" in *'$'* | *'"'* | *"'"*) fail "ExecStart needs systemd's expansion: $EXEC_START" ;; esac

# The webhook receiver, on loopback beside the root.
SECRET=ops-s3cret
python3 "$ROOT/tests/integration/webhook_rx.py" "$TMP/hook.jsonl" \
	"$TMP/hook.port" 2>"$TMP/rx.log" &
RXPID=$!
timeout 10 sh -c 'until [ -s "$1" ]; do sleep 0.05; done' sh "$TMP/hook.port" ||
	fail "the webhook receiver did not start"

# The operator edits the package's config: a webhook with a secret, and
# (the test's only other change) a free port instead of 5000.
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
CONF=$FR/etc/customs/customs.json
jq --arg l "127.0.0.1:$PORT" --arg u "http://127.0.0.1:$(cat "$TMP/hook.port")/hook" \
	--arg s "$SECRET" '.listen = $l | .webhook = [{name: "ops", url: $u, secret: $s}]' \
	"$CONF" >"$TMP/customs.json" || fail "cannot edit $CONF"
cat "$TMP/customs.json" >"$CONF"
REG=127.0.0.1:$PORT
URL=http://$REG

# unit_start: ExecStart as the unit runs it; sets PID; waits for /healthz.
unit_start() {
	local i

	# shellcheck disable=SC2086 # ExecStart's words, as systemd splits them
	(
		ulimit -n "$(unit_key LimitNOFILE)" 2>/dev/null || true
		umask "$(unit_key UMask)"
		exec chroot --userspec="$U_USER:${U_GROUP:-$U_USER}" "$FR" \
			env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin $EXEC_START
	) >>"$TMP/unit.log" 2>&1 &
	PID=$!
	for i in $(seq 1 200); do
		kill -0 "$PID" 2>/dev/null ||
			fail "ExecStart exited: $(tail -n 5 "$TMP/unit.log")"
		curl -sf -o /dev/null "$URL/healthz" && return 0
		sleep 0.05
	done
	fail "ExecStart: no /healthz after 10 s: $(tail -n 5 "$TMP/unit.log")"
}
# as_user CMD...: what the README has operators run: runuser -u customs.
as_user() { chroot "$FR" runuser -u "$U_USER" -- "$@"; }

unit_start
for p in /healthz /readyz; do
	req GET "$p"
	expect 200
done
req GET /metrics
expect 200
grep -q '^customs_http_requests_total{' "$B" || fail "/metrics: $(head -c 300 "$B")"
# Parsed with prometheus_client: in the root if it has it, else here.
if chroot "$FR" python3 -c 'import prometheus_client' 2>/dev/null; then
	cp "$B" "$FR/root/metrics.txt"
	chroot "$FR" python3 -c 'import sys
from prometheus_client.parser import text_string_to_metric_families as p
list(p(open("/root/metrics.txt").read()))' || fail "/metrics does not parse"
elif /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null; then
	/usr/bin/python3 -c 'import sys
from prometheus_client.parser import text_string_to_metric_families as p
assert len(list(p(open(sys.argv[1]).read()))) > 10' "$B" ||
		fail "/metrics does not parse"
else
	echo "python3-prometheus-client is not installed: /metrics not parsed"
fi

# skopeo pushes an image: a signed push event and scan.completed arrive.
skopeo_setup
dg=$(sha256 "$(oci_layout "$TMP/lay" hello)")
"${SK[@]}" copy -q --dest-tls-verify=false "oci:$TMP/lay:hello" \
	"docker://$REG/ops/hello:v1" >"$TMP/skopeo.log" 2>&1 ||
	fail "skopeo push: $(cat "$TMP/skopeo.log")"
# hook_has ACTION...: every ACTION arrived for $dg, each request signed.
hook_has() {
	python3 - "$TMP/hook.jsonl" "$SECRET" "$dg" "$@" <<'PY'
import hashlib, hmac, json, sys
path, secret, dg, want = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
seen = set()
try:
    lines = open(path).readlines()
except FileNotFoundError:
    lines = []
for line in lines:
    rec = json.loads(line)
    sig = "sha256=" + hmac.new(secret.encode(), rec["body"].encode(),
                               hashlib.sha256).hexdigest()
    if rec["headers"].get("x-customs-signature") != sig:
        print("unsigned or badly signed: %r" % rec["headers"], file=sys.stderr)
        sys.exit(2)
    for ev in json.loads(rec["body"])["events"]:
        if ev.get("target", {}).get("digest") in (dg, None):
            seen.add(ev["action"])
sys.exit(0 if set(want) <= seen else 1)
PY
}
wait_hook() {
	local i rc

	for i in $(seq 1 300); do
		rc=0
		hook_has "$@" || rc=$?
		[ "$rc" = 0 ] && return 0
		[ "$rc" = 1 ] || fail "webhook: bad delivery"
		sleep 0.1
	done
	fail "webhook: no $* for $dg after 30 s: $(tail -c 600 "$TMP/hook.jsonl" 2>/dev/null)"
}
wait_hook push scan.completed

# A new vulnerability DB, then ExecReload: the process lives, logs the
# reload and sends db.updated.
(cd "$ROOT/tests/data/advisories/osv" && zip -qr "$FR/tmp/all.zip" Debian) || fail "zip"
chroot "$FR" sh -c 'cd /tmp &&
	runuser -u customs -- customs db import --data /var/lib/customs osv=all.zip' \
	>"$TMP/import.log" 2>&1 || fail "db import: $(tail -n 3 "$TMP/import.log")"
# $MAINPID is the service's binary itself (no wrapper left in between).
[ "$(readlink "/proc/$PID/exe")" = "$(readlink -f "$FR/usr/bin/customs")" ] ||
	fail "ExecStart's process is $(readlink "/proc/$PID/exe"), not customs"
reload=${EXEC_RELOAD//\$MAINPID/$PID}
# shellcheck disable=SC2086 # ExecReload's words
if [ -x "$FR/${reload%% *}" ]; then chroot "$FR" $reload; else $reload; fi ||
	fail "ExecReload ($reload) failed"
# The first such line is the start's (no DB yet), the second the reload's.
reloaded() { [ "$(grep -c 'scan: vulnerability DB .* to re-match' "$TMP/unit.log")" -ge 2 ]; }
for _ in $(seq 1 100); do
	reloaded && break
	sleep 0.1
done
reloaded ||
	fail "no reload line after ExecReload: $(tail -n 5 "$TMP/unit.log")"
kill -0 "$PID" 2>/dev/null || fail "ExecReload ended the service"
wait_hook db.updated

# A backup while serving, as the service's user, into a directory of its.
chroot "$FR" install -d -o "$U_USER" -m 700 /var/backups/customs
as_user customs backup --data /var/lib/customs /var/backups/customs/b1 \
	>"$TMP/backup.log" 2>&1 || fail "backup: $(cat "$TMP/backup.log")"
stop_server
# The state directory is lost; StateDirectory= would make it again empty.
rm -rf --one-file-system "$FR/var/lib/customs"
chroot "$FR" install -d -o "$U_USER" -g "${U_GROUP:-$U_USER}" \
	-m "$(unit_key StateDirectoryMode)" /var/lib/customs
as_user customs restore --data /var/lib/customs /var/backups/customs/b1 \
	>"$TMP/restore.log" 2>&1 || fail "restore: $(cat "$TMP/restore.log")"
as_user customs fsck --strict --data /var/lib/customs >"$TMP/fsck.log" 2>&1 ||
	fail "fsck of the restored store: $(cat "$TMP/fsck.log")"
grep -q "clean$" "$TMP/fsck.log" || fail "fsck: $(cat "$TMP/fsck.log")"
unit_start
req GET /readyz
expect 200
"${SK[@]}" copy -q --src-tls-verify=false "docker://$REG/ops/hello:v1" \
	"dir:$TMP/pulled" >"$TMP/skopeo.log" 2>&1 ||
	fail "skopeo pull after restore: $(cat "$TMP/skopeo.log")"
[ "$(sha256 "$TMP/pulled/manifest.json")" = "$dg" ] || fail "the manifest pulled back differs"
for f in "$TMP"/lay/blobs/sha256/*; do
	h=$(basename "$f")
	[ "sha256:$h" = "$dg" ] || same_file "$f" "$TMP/pulled/$h"
done
stop_server
echo "ok: $(basename "$DEB") built, linted, installed with apt; as the unit" \
	"runs it: health, metrics, signed push and scan.completed webhooks," \
	"reload, backup, restore, pull back byte-identical, fsck clean"
