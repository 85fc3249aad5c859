#!/bin/bash
# Backup and restore across backends: a node on S3 (a real Ceph RGW) and
# PostgreSQL is backed up while it serves, the backup is restored into a
# new directory (fs + sqlite) which serves every image byte for byte with
# fsck clean; then a backup of that directory is restored onto an empty
# PostgreSQL database and S3 prefix, served and checked the same way.  A
# restore onto a target that holds a store is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_ceph.sh"
need_backend fs "the test sets up each kind of store itself"
need sqlite3
ceph_start
pg_db
CI=$PG_CI

# pull_all: every image of $TMP/before and the big blob, byte for byte.
pull_all() {
	while read -r repo dg mf name; do
		req GET "/v2/$repo/manifests/$dg" -H "Accept: $OCI_MANIFEST"
		expect 200
		same_file "$B" "$mf"
		for f in "$TMP/config-$name.json" "$TMP/layer-$name.tar.gz"; do
			req GET "/v2/$repo/blobs/$(sha256 "$f")"
			expect 200
			same_file "$B" "$f"
		done
	done <"$TMP/before"
	req GET "/v2/big/blobs/$(sha256 "$TMP/big")"
	expect 200
	same_file "$B" "$TMP/big"
}

# fsck_clean ARGS...: customs fsck --strict ARGS finds nothing.
fsck_clean() {
	"$CUSTOMS" fsck --strict "$@" >"$TMP/fsck.out" 2>&1 ||
		fail "fsck $*: $(cat "$TMP/fsck.out")"
	grep -q "clean$" "$TMP/fsck.out" || fail "fsck: $(cat "$TMP/fsck.out")"
}

# A node on S3 + PostgreSQL with a few images and a blob of several
# parts.
DATA=$TMP/node
start_server --meta "$CI" "${S3_FLAGS[@]}" --s3-part-size 5MiB
: >"$TMP/before"
for i in 1 2 3; do
	dg=$(push_image "app/a$i" v1 "$TMP" "a$i")
	echo "app/a$i $dg $TMP/manifest-a$i.json a$i" >>"$TMP/before"
done
head -c $((11 << 20)) /dev/urandom >"$TMP/big"
push_blob big "$TMP/big" >/dev/null

# Backup beside the serving node: the README's commands (its variables: the
# node's values), verbatim, from a scratch directory.
customs() { "$CUSTOMS" "$@"; }
META=$CI
mkdir -p "$TMP/readme"
cd "$TMP/readme"
mkdir -p ./scratch
customs backup --meta "$META" --storage s3 --s3-endpoint "$S3_ENDPOINT" --s3-region "$S3_REGION" --s3-bucket "$S3_BUCKET" --s3-prefix "$S3_PREFIX" --data ./scratch ./customs-backup >"$TMP/backup.out" 2>&1 ||
	fail "backup: $(cat "$TMP/backup.out")"
cat "$TMP/backup.out"
# The images' blobs, the big one, and the scan reports' blobs.
n=$(sed -n 's/^backup: \([1-9][0-9]*\) blobs (0 linked, \1 copied.*/\1/p' "$TMP/backup.out")
[ -n "$n" ] && [ "$n" -ge 7 ] || fail "backup: $(cat "$TMP/backup.out")"
BK=$TMP/readme/customs-backup
[ -e "$BK/customs-backup" ] || fail "no marker in the backup"
[ ! -e "$BK/uploads" ] || fail "upload data in the backup"
big=$(sha256 "$TMP/big")
same_file "$TMP/big" "$BK/blobs/sha256/${big:7:2}/${big#sha256:}"
# Onto a target holding a store: refused, nothing written.
"$CUSTOMS" restore --data "$TMP/again" --meta "$CI" "${S3_FLAGS[@]}" "$BK" \
	>"$TMP/out" 2>&1 && fail "restore onto a database that holds a store"
grep -q "holds a store already" "$TMP/out" || fail "refusal: $(cat "$TMP/out")"
stop_server

# Into fs + sqlite: served, pulled, fsck clean.
customs restore --data ./restored ./customs-backup >"$TMP/restore.out" 2>&1 ||
	fail "restore: $(cat "$TMP/restore.out")"
cat "$TMP/restore.out"
mv ./restored "$TMP/fs"
cd "$ROOT"
fsck_clean --data "$TMP/fs"
DATA=$TMP/fs
start_server
pull_all
stop_server

# The reverse: a backup of the fs store onto an empty database and prefix,
# with the README's command.
pg_db
CI2=$PG_CI
S3_FLAGS2=("${S3_FLAGS[@]:0:8}" --s3-prefix "$S3_PREFIX-r")
mkdir -p "$TMP/readme2"
"$CUSTOMS" backup --data "$TMP/fs" "$TMP/readme2/customs-backup" >"$TMP/out" 2>&1 ||
	fail "backup of the fs store: $(cat "$TMP/out")"
# As an older customs made it (schema 6, before the events outbox and
# the scan jobs' claim tokens): the restore migrates a copy before its
# rows go to PostgreSQL.
sqlite3 "$TMP/readme2/customs-backup/meta.db" "DROP TABLE outbox_deliveries;
	DROP TABLE outbox_cursors; DROP TABLE outbox;
	ALTER TABLE scan_jobs DROP COLUMN claim; PRAGMA user_version = 6" ||
	fail "making the backup an older one"
cd "$TMP/readme2"
META=$CI2
S3_PREFIX=$S3_PREFIX-r
mkdir -p ./scratch
customs restore --meta "$META" --storage s3 --s3-endpoint "$S3_ENDPOINT" --s3-region "$S3_REGION" --s3-bucket "$S3_BUCKET" --s3-prefix "$S3_PREFIX" --data ./scratch ./customs-backup >"$TMP/restore2.out" 2>&1 ||
	fail "restore onto S3 + PostgreSQL: $(cat "$TMP/restore2.out")"
cd "$ROOT"
cat "$TMP/restore2.out"
grep -q "^restore: $n blobs (0 linked, $n copied.*schema 6:" "$TMP/restore2.out" ||
	fail "restore: $(cat "$TMP/restore2.out")"
# Again onto the same prefix with an empty database: the bucket refuses.
pg_db
"$CUSTOMS" restore --data "$TMP/node3" --meta "$PG_CI" \
	"${S3_FLAGS2[@]}" "$TMP/readme2/customs-backup" >"$TMP/out" 2>&1 &&
	fail "restore onto a prefix that holds blobs"
grep -q "holds blobs already" "$TMP/out" || fail "refusal: $(cat "$TMP/out")"
fsck_clean --data "$TMP/readme2/scratch" --meta "$CI2" "${S3_FLAGS2[@]}"
# S3 with meta.db: restored onto, fsck clean, backed up again whole.
S3_FLAGS3=("${S3_FLAGS[@]:0:8}" --s3-prefix "$S3_PREFIX-s")
"$CUSTOMS" restore --data "$TMP/s3sq" "${S3_FLAGS3[@]}" "$TMP/readme2/customs-backup" \
	>"$TMP/out" 2>&1 || fail "restore onto S3 + meta.db: $(cat "$TMP/out")"
fsck_clean --data "$TMP/s3sq" "${S3_FLAGS3[@]}"
"$CUSTOMS" backup --data "$TMP/s3sq" "${S3_FLAGS3[@]}" "$TMP/bk3" >"$TMP/out" 2>&1 ||
	fail "backup of S3 + meta.db: $(cat "$TMP/out")"
grep -q "^backup: $n blobs (0 linked, $n copied" "$TMP/out" || fail "backup: $(cat "$TMP/out")"
DATA=$TMP/readme2/scratch
start_server --meta "$CI2" "${S3_FLAGS2[@]}"
pull_all
# And it takes pushes.
dg=$(push_image app/after v1 "$TMP" after)
req GET "/v2/app/after/manifests/$dg" -H "Accept: $OCI_MANIFEST"
expect 200
stop_server
fsck_clean --data "$TMP/readme2/scratch" --meta "$CI2" "${S3_FLAGS2[@]}"
echo "S3 + PostgreSQL -> fs + sqlite -> S3 + PostgreSQL (and S3 + sqlite): 3 images and an 11 MiB blob, byte for byte; fsck clean"
exit 0
