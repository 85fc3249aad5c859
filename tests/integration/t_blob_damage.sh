#!/bin/bash
# Blobs damaged on disk are never served as good.
#
# 1. A blob truncated, and one grown, behind the server's back: GET and
#    HEAD answer 404 BLOB_UNKNOWN (its size differs from the recorded one),
#    the file goes to DIR/quarantine/, the log says so; a push of the blob
#    stores it again and it is served whole.
# 2. A blob altered in place (same size) is found by the scrub, which
#    logs it, quarantines it and counts it; then GET is 404 too.
# 3. fsck lists the quarantine and what lost its blob.
. "$(dirname "$0")/lib.sh"
need cmp dd
need_backend fs "it damages blob files on the local disk (t_s3 damages objects in the bucket)"

blob_file() {
	echo "$DATA/blobs/sha256/$(echo "${1#sha256:}" | cut -c1-2)/${1#sha256:}"
}

start_server --scrub-interval 0
for n in trunc grown altered; do
	head -c 200000 /dev/urandom >"$TMP/$n"
done
trunc=$(push_blob dmg/app "$TMP/trunc")
grown=$(push_blob dmg/app "$TMP/grown")
altered=$(push_blob dmg/app "$TMP/altered")
dg=$(push_image dmg/app v1 "$TMP" img)

# 1. Truncated and grown.
truncate -s 100000 "$(blob_file "$trunc")"
req GET "/v2/dmg/app/blobs/$trunc"
expect 404 BLOB_UNKNOWN
req HEAD "/v2/dmg/app/blobs/$trunc"
expect 404
printf 'appended' >>"$(blob_file "$grown")"
req HEAD "/v2/dmg/app/blobs/$grown"
expect 404
req GET "/v2/dmg/app/blobs/$grown"
expect 404 BLOB_UNKNOWN
grep -q "damaged blob $trunc: 100000 bytes on disk, 200000 stored; moved to" \
	"$TMP/server.log" || fail "no log line for the truncated blob"
grep -q "damaged blob $grown: 200008 bytes on disk, 200000 stored" \
	"$TMP/server.log" || fail "no log line for the grown blob"
[ -e "$DATA/quarantine/sha256-${trunc#sha256:}" ] ||
	fail "the truncated blob is not in quarantine"
[ ! -e "$(blob_file "$trunc")" ] || fail "the truncated blob is still served"
# A range inside the intact part is no excuse either.
req GET "/v2/dmg/app/blobs/$trunc" -H 'Range: bytes=0-99'
expect 404 BLOB_UNKNOWN
# Pushed again: whole again.
push_blob dmg/app "$TMP/trunc" >/dev/null
req GET "/v2/dmg/app/blobs/$trunc"
expect 200
same_file "$B" "$TMP/trunc"

# 2. Altered in place, same size: only a hash can tell.  The scrub
# (every second, 1 MiB/s) finds it.
printf 'XXXXXXXX' | dd of="$(blob_file "$altered")" bs=1 seek=1000 \
	conv=notrunc status=none
stop_server
start_server --scrub-interval 1 --scrub-rate 1MiB
for i in $(seq 1 100); do
	grep -q "damaged blob $altered: content hashes to" "$TMP/server.log" &&
		grep -q "^.*scrub: verified" "$TMP/server.log" && break
	sleep 0.1
done
grep -q "damaged blob $altered: content hashes to" "$TMP/server.log" ||
	fail "the scrub did not find the altered blob"
grep -q "scrub: verified [0-9]* blobs ([0-9]* bytes) in [0-9.]* s: 1 damaged (quarantined); 1 found damaged since start" \
	"$TMP/server.log" || fail "no scrub summary: $(grep scrub "$TMP/server.log")"
req GET "/v2/dmg/app/blobs/$altered"
expect 404 BLOB_UNKNOWN
# The image whose blobs are intact is still served.
req GET /v2/dmg/app/manifests/v1 -H "Accept: $OCI_MANIFEST"
expect 200
for d in $(jq -r '.config.digest, .layers[].digest' "$B"); do
	req GET "/v2/dmg/app/blobs/$d"
	expect 200
done
stop_server

# 3. fsck: the quarantine is listed, and the links to the quarantined
# blobs are damage (the repository lost them) until they are pushed again.
rc=0
customs_run fsck --data "$DATA" >"$TMP/fsck.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "fsck exit $rc: $(cat "$TMP/fsck.out")"
grep -q "^quarantine: 3 damaged files in" "$TMP/fsck.out" ||
	fail "fsck does not list the quarantine: $(cat "$TMP/fsck.out")"
for d in "$grown" "$altered"; do
	grep -q "^missing: repository dmg/app lost blob $d (missing)" \
		"$TMP/fsck.out" || fail "fsck: $(cat "$TMP/fsck.out")"
done
grep -q "2 problems" "$TMP/fsck.out" || fail "fsck: $(cat "$TMP/fsck.out")"
echo "truncated, grown and altered blobs refused; the scrub found $altered"
exit 0
