#!/bin/bash
# Backup and restore: `customs backup` runs beside a serving registry
# while pushes go on and `customs gc` frees deleted images; the backup is
# restored into a new directory, fsck finds nothing (even --strict), and a
# server on it gives back every image by digest, byte for byte, with its
# scan report and referrers.  Restore refuses a non-empty target and a
# served one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"
need_backend fs "customs backup copies a data directory (meta.db, blob files) here; t_backup_dist backs up S3 + PostgreSQL"

sp_layout
mkdir -p "$DATA"
sp_db "$DATA/vulndb.db"
start_server --scan-workers 1

# Images deleted before the backup: gc frees their blobs meanwhile, once
# older than its grace (which spares the pushes in flight).
for i in 1 2 3; do
	dg=$(push_image doomed v$i "$TMP" "d$i")
	req DELETE "/v2/doomed/manifests/$dg"
	expect 202
	echo "$dg" >>"$TMP/doomed"
done
t_doomed=$(date +%s)
# A real image with its scan report (a referrer), and small images.
deb=$(sp_push debian scan/debian v1)
sp_report scan/debian "$deb" 60
cp "$B" "$TMP/report.json"
: >"$TMP/before"
for i in 1 2 3 4 5; do
	dg=$(push_image "app/a$i" v1 "$TMP" "a$i")
	echo "app/a$i $dg $TMP/manifest-a$i.json a$i" >>"$TMP/before"
done

# Pushes and gc beside the backup, until it is done.
while [ $(($(date +%s) - t_doomed)) -lt 5 ]; do sleep 0.2; done
touch "$TMP/busy"
(
	H=$TMP/bg.h B=$TMP/bg.b
	i=0
	while [ -e "$TMP/busy" ] && [ $i -lt 200 ]; do
		i=$((i + 1))
		(push_image "live/l$i" v1 "$TMP" "l$i" >/dev/null) 2>>"$TMP/push.err" &&
			echo "$i" >>"$TMP/pushed"
	done
) &
pusher=$!
(
	n=0
	while [ -e "$TMP/busy" ] || [ $n -lt 2 ]; do
		n=$((n + 1))
		"$CUSTOMS" gc --data "$DATA" --gc-grace 3 --max-sweep-share 100 \
			--force --quiet >>"$TMP/gc.out" 2>&1 || echo "gc failed" >>"$TMP/gc.out"
	done
) &
gcloop=$!
for i in $(seq 1 600); do
	[ "$(cat "$TMP/pushed" 2>/dev/null | wc -l)" -ge 3 ] && break
	sleep 0.05
done
"$CUSTOMS" backup --data "$DATA" "$TMP/bk" >"$TMP/backup.out" 2>&1 ||
	fail "backup: $(cat "$TMP/backup.out")"
# Copies (as onto another filesystem), each re-hashed.
"$CUSTOMS" backup --copy --verify --data "$DATA" "$TMP/bk2" >"$TMP/backup2.out" 2>&1 ||
	fail "backup --copy: $(cat "$TMP/backup2.out")"
rm -f "$TMP/busy"
wait "$pusher" "$gcloop"
[ "$(wc -l <"$TMP/pushed")" -ge 3 ] || fail "pushes beside the backup: $(head -3 "$TMP/push.err")"
# A push slower than gc's grace may lose its blobs to gc (the client
# retries); the registry stays consistent, which is what counts here.
grep -v "MANIFEST_BLOB_UNKNOWN\|BLOB_UPLOAD_UNKNOWN" "$TMP/push.err" >"$TMP/push.other" || true
[ ! -s "$TMP/push.other" ] || fail "a push beside the backup failed: $(head -3 "$TMP/push.other")"
cat "$TMP/backup.out"
grep -q "^backup: [0-9]* blobs ([0-9]* linked, 0 copied" "$TMP/backup.out" ||
	fail "backup did not hard-link: $(cat "$TMP/backup.out")"
grep -q "gc failed" "$TMP/gc.out" && fail "gc beside the backup: $(cat "$TMP/gc.out")"
grep -q "^gc: freed [1-9]" "$TMP/gc.out" || fail "gc freed nothing: $(cat "$TMP/gc.out")"
[ -e "$TMP/bk/customs-backup" ] || fail "no marker in the backup"
[ ! -e "$TMP/bk/uploads" ] || fail "upload data in the backup"
[ -e "$TMP/bk/vulndb.db" ] || fail "no vulndb.db in the backup"
grep -q "^backup: [1-9][0-9]* blobs (0 linked, [1-9][0-9]* copied" "$TMP/backup2.out" ||
	fail "backup --copy: $(cat "$TMP/backup2.out")"

# A second backup into the same directory is refused.
"$CUSTOMS" backup --data "$DATA" "$TMP/bk" >"$TMP/out" 2>&1 &&
	fail "backup into a non-empty directory"
grep -q "is not empty" "$TMP/out" || fail "refusal: $(cat "$TMP/out")"
"$CUSTOMS" backup --data "$DATA" >"$TMP/out" 2>&1 && fail "backup without DEST"
grep -q "^customs backup: missing DEST.*; see customs backup --help" "$TMP/out" ||
	fail "usage: $(cat "$TMP/out")"
stop_server

# Restore into a new directory; refusals.
NEW=$TMP/restored
"$CUSTOMS" restore --data "$NEW" "$TMP/bk" >"$TMP/restore.out" 2>&1 ||
	fail "restore: $(cat "$TMP/restore.out")"
cat "$TMP/restore.out"
"$CUSTOMS" restore --data "$NEW" "$TMP/bk" >"$TMP/out" 2>&1 &&
	fail "restore over a store without --force"
grep -q "is not empty" "$TMP/out" || fail "refusal: $(cat "$TMP/out")"
"$CUSTOMS" restore --data "$TMP/other" "$DATA" >"$TMP/out" 2>&1 &&
	fail "restore from a data directory that is no backup"
grep -q "not a complete customs backup" "$TMP/out" || fail "refusal: $(cat "$TMP/out")"
"$CUSTOMS" fsck --strict --data "$NEW" >"$TMP/fsck.out" 2>&1 ||
	fail "fsck of the restored store: $(cat "$TMP/fsck.out")"
grep -q "clean$" "$TMP/fsck.out" || fail "fsck: $(cat "$TMP/fsck.out")"

"$CUSTOMS" restore --copy --verify --data "$TMP/restored2" "$TMP/bk2" >"$TMP/out" 2>&1 ||
	fail "restore --copy: $(cat "$TMP/out")"
"$CUSTOMS" fsck --strict --data "$TMP/restored2" >"$TMP/fsck.out" 2>&1 ||
	fail "fsck of the copy: $(cat "$TMP/fsck.out")"

DATA=$NEW
start_server --scan-workers 1
"$CUSTOMS" restore --force --data "$NEW" "$TMP/bk" >"$TMP/out" 2>&1 &&
	fail "restore under a running server"
grep -q "in use by another customs process" "$TMP/out" || fail "refusal: $(cat "$TMP/out")"

# Everything pushed before the backup, by digest, byte for byte.
while read -r repo dg mf name; do
	req GET "/v2/$repo/manifests/$dg" -H "Accept: $OCI_MANIFEST"
	expect 200
	same_file "$B" "$mf"
	req GET "/v2/$repo/blobs/$(sha256 "$TMP/config-$name.json")"
	expect 200
	same_file "$B" "$TMP/config-$name.json"
	req GET "/v2/$repo/blobs/$(sha256 "$TMP/layer-$name.tar.gz")"
	expect 200
	same_file "$B" "$TMP/layer-$name.tar.gz"
done <"$TMP/before"
for dg in $(cat "$TMP/doomed"); do
	req GET "/v2/doomed/manifests/$dg" -H "Accept: $OCI_MANIFEST"
	expect 404 MANIFEST_UNKNOWN
done

# The scan report and its referrer came along.
req GET "/v2/scan/debian/manifests/$deb" -H "Accept: $OCI_MANIFEST"
expect 200
sp_report scan/debian "$deb" 0
jq -S 'del(.scanned)' "$B" >"$TMP/r2"
jq -S 'del(.scanned)' "$TMP/report.json" >"$TMP/r1"
same_file "$TMP/r1" "$TMP/r2"
req GET "/v2/scan/debian/referrers/$deb$SP_RT"
expect 200
rdg=$(jq -r '.manifests[0].digest' "$B")
[ "$(jq '.manifests | length' "$B")" = 1 ] || fail "referrers: $(cat "$B")"
req GET "/v2/scan/debian/manifests/$rdg" \
	-H 'Accept: application/vnd.oci.image.manifest.v1+json'
expect 200
for d in $(jq -r '.layers[].digest' "$B"); do
	req GET "/v2/scan/debian/blobs/$d"
	expect 200
	[ "$(sha256 "$B")" = "$d" ] || fail "report blob $d differs"
done

# Whatever the concurrent pushes got into the snapshot is whole: every
# tagged manifest and each blob it names.
req GET /v2/_catalog
expect 200
live=0
for repo in $(jq -r '.repositories[]' "$B" | grep '^live/' || true); do
	# Its blobs may have gone in before its manifest did.
	req GET "/v2/$repo/tags/list"
	expect 200
	jq -e '.tags // [] | index("v1")' "$B" >/dev/null || continue
	req GET "/v2/$repo/manifests/v1" -H "Accept: $OCI_MANIFEST"
	expect 200
	cp "$B" "$TMP/live.json"
	for d in $(jq -r '.config.digest, .layers[].digest' "$TMP/live.json"); do
		req GET "/v2/$repo/blobs/$d"
		expect 200
		[ "$(sha256 "$B")" = "$d" ] || fail "$repo blob $d differs"
	done
	live=$((live + 1))
done

# And the restored store takes pushes.
dg=$(push_image app/after v1 "$TMP" after)
req GET "/v2/app/after/manifests/$dg" -H "Accept: $OCI_MANIFEST"
expect 200
stop_server
"$CUSTOMS" fsck --data "$NEW" >"$TMP/fsck.out" 2>&1 ||
	fail "fsck after serving: $(cat "$TMP/fsck.out")"
echo "restored: 5 images, the scanned image and $live images pushed during the backup; fsck clean"
exit 0
