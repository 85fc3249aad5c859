#!/bin/bash
# Losing meta.db-wal after a crash loses the metadata written since the
# last checkpoint.  fsck must say so (a finding, exit 1) instead of
# "clean" with every blob garbage, and neither `customs gc` nor serve's
# scheduled gc may then sweep the store without --force.  A clean
# shutdown checkpoints the WAL, so its loss then costs nothing.
. "$(dirname "$0")/lib.sh"
need_backend fs "the sqlite WAL file of meta.db"

blob_count() {
	find "$DATA/blobs" -type f | wc -l
}

# 1. A clean stop leaves everything in meta.db.
start_server
push_image wal/app v1 "$TMP" one >/dev/null
stop_server
[ ! -s "$DATA/meta.db-wal" ] ||
	fail "meta.db-wal holds $(stat -c %s "$DATA/meta.db-wal") bytes after a clean stop"
rm -f "$DATA/meta.db-wal"
start_server
req GET /v2/wal/app/manifests/v1 -H "Accept: $OCI_MANIFEST"
expect 200
stop_server
"$CUSTOMS" fsck --data "$DATA" >"$TMP/fsck.out" 2>&1 ||
	fail "fsck after a clean stop: $(cat "$TMP/fsck.out")"

# 2. A crash, then the WAL is lost: a fresh store's metadata is empty.
rm -rf "$DATA"
start_server
push_image wal/app v1 "$TMP" two >/dev/null
push_image wal/app v2 "$TMP" three >/dev/null
kill -KILL "$PID"
wait "$PID" 2>/dev/null || true
PID=
[ -s "$DATA/meta.db-wal" ] || fail "the crash left no WAL to lose"
rm -f "$DATA/meta.db-wal"
blobs=$(blob_count)
rc=0
"$CUSTOMS" fsck --data "$DATA" >"$TMP/fsck.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "fsck exit $rc after losing the WAL: $(cat "$TMP/fsck.out")"
grep -q "^metadata: meta.db knows no repository, yet the store holds $blobs blobs" \
	"$TMP/fsck.out" || fail "no finding: $(cat "$TMP/fsck.out")"
grep -q "clean" "$TMP/fsck.out" && fail "fsck says clean: $(cat "$TMP/fsck.out")"
# gc refuses; a dry run says why.
rc=0
"$CUSTOMS" gc --data "$DATA" --gc-grace 0 >"$TMP/gc.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "gc exit $rc: $(cat "$TMP/gc.out")"
grep -q "refusing to free $blobs of $blobs blobs" "$TMP/gc.out" ||
	fail "gc: $(cat "$TMP/gc.out")"
[ "$(blob_count)" = "$blobs" ] || fail "gc freed blobs"
"$CUSTOMS" gc --data "$DATA" --gc-grace 0 --dry-run >"$TMP/gc.out" 2>&1 ||
	fail "gc --dry-run: $(cat "$TMP/gc.out")"
grep -q "without --force gc refuses" "$TMP/gc.out" ||
	fail "gc --dry-run: $(cat "$TMP/gc.out")"
# So does serve's scheduled gc.
start_server --gc-interval 1 --gc-grace 0
for i in $(seq 1 50); do
	grep -q "gc: refusing to free" "$TMP/server.log" && break
	sleep 0.1
done
grep -q "gc: refusing to free $blobs of $blobs blobs" "$TMP/server.log" ||
	fail "serve's gc did not refuse"
grep -q "gc: no blob freed; check the store with .customs fsck." \
	"$TMP/server.log" || fail "serve's gc does not say what to do"
stop_server
[ "$(blob_count)" = "$blobs" ] || fail "serve's gc freed blobs"

# 3. An older meta.db (its recent writes lost): blobs newer than its last
# write that nothing refers to.
rm -rf "$DATA"
start_server
push_image wal/app v1 "$TMP" four >/dev/null
stop_server
touch -d '2 hours ago' "$DATA/meta.db"
cp -p "$DATA/meta.db" "$TMP/meta.db.old"
start_server
for n in five six seven; do
	push_image wal/app "$n" "$TMP" "$n" >/dev/null
done
kill -KILL "$PID"
wait "$PID" 2>/dev/null || true
PID=
rm -f "$DATA/meta.db-wal" "$DATA/meta.db-shm"
cp -p "$TMP/meta.db.old" "$DATA/meta.db"
rc=0
"$CUSTOMS" fsck --data "$DATA" >"$TMP/fsck.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "fsck exit $rc with an old meta.db: $(cat "$TMP/fsck.out")"
grep -q "^metadata: [0-9]* blobs that nothing refers to are newer than meta.db's last write" \
	"$TMP/fsck.out" || fail "no finding: $(cat "$TMP/fsck.out")"
# Forced, gc frees them (the operator's call).
"$CUSTOMS" gc --data "$DATA" --gc-grace 0 --force --quiet >"$TMP/gc.out" 2>&1 ||
	fail "gc --force: $(cat "$TMP/gc.out")"
grep -q "^gc: freed [1-9]" "$TMP/gc.out" || fail "gc --force: $(cat "$TMP/gc.out")"
tail -n 1 "$TMP/fsck.out"
exit 0
