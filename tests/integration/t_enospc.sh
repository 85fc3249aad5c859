#!/bin/bash
# serial: run alone (timing or CPU sensitive; see tests/integration/run)
# A full disk: the data directory on an 8 MiB tmpfs.  An upload that runs
# out of space answers 507 with an error body, leaves no blob (partial or
# not) and no stray file; the session keeps what was written before and
# can be cancelled to free it; what was pushed before stays intact; once
# there is room again pushes work.  Needs root (mount); skipped otherwise.
. "$(dirname "$0")/lib.sh"
need_backend fs "a full local disk under the blobs"

SMALL=$TMP/small
mkdir -p "$SMALL"
mount -t tmpfs -o size=8m tmpfs "$SMALL" 2>/dev/null ||
	skip "cannot mount a tmpfs (needs root)"
enospc_cleanup() {
	local rc=$?

	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	PID=
	umount "$SMALL" 2>/dev/null || umount -l "$SMALL" 2>/dev/null || true
	(exit "$rc")
	lib_cleanup
}
trap enospc_cleanup EXIT
DATA=$SMALL/data

start_server --scan-workers 1
dg0=$(push_image enospc v1 "$TMP" before)
cp "$TMP/manifest-before.json" "$TMP/m0"

# 1. A monolithic upload bigger than the disk.
head -c $((12 * 1024 * 1024)) /dev/urandom >"$TMP/big"
big=$(sha256 "$TMP/big")
req POST "/v2/enospc/blobs/uploads/?digest=$big" --data-binary "@$TMP/big" \
	-H 'Content-Type: application/octet-stream'
[ "$STATUS" = 507 ] || fail "monolithic upload on a full disk: $STATUS $(head -c 300 "$B")"
jq -e '.errors[0].code and .errors[0].message' "$B" >/dev/null ||
	fail "no error body: $(head -c 300 "$B")"
[ ! -e "$DATA/blobs/sha256/${big:7:2}/${big#sha256:}" ] ||
	fail "a partial blob is visible"

# 2. A chunked upload: the chunk that does not fit is refused; what was
# written before the disk filled stays (Range says how far: resumable),
# and cancelling the session frees it.
req POST /v2/enospc/blobs/uploads/
expect 202
loc=$(upload_location)
head -c $((3 * 1024 * 1024)) "$TMP/big" >"$TMP/c1"
req PATCH "$loc" --data-binary "@$TMP/c1" -H 'Content-Range: 0-3145727'
expect 202
tail -c +$((3 * 1024 * 1024 + 1)) "$TMP/big" >"$TMP/c2"
req PATCH "$loc" --data-binary "@$TMP/c2" \
	-H "Content-Range: 3145728-$((12 * 1024 * 1024 - 1))"
[ "$STATUS" = 507 ] || fail "chunk on a full disk: $STATUS $(head -c 300 "$B")"
req GET "$loc"
expect 204
end=$(hdr Range | sed 's/^0-//')
[ "$end" -ge 3145727 ] && [ "$end" -lt $((12 * 1024 * 1024 - 1)) ] ||
	fail "Range after a full disk: $(hdr Range)"
req DELETE "$loc"
expect 204

# 3. What was there is intact, and there is room again.
req GET "/v2/enospc/manifests/v1" -H "Accept: $OCI_MANIFEST"
expect 200
same_file "$B" "$TMP/m0"
head -c 100000 /dev/urandom >"$TMP/small-blob"
push_blob enospc "$TMP/small-blob" >/dev/null
push_image enospc v2 "$TMP" after >/dev/null
stop_server
customs_run fsck --data "$DATA" >"$TMP/fsck.out" 2>&1 ||
	fail "fsck after a full disk: $(cat "$TMP/fsck.out")"
[ -z "$(find "$DATA/uploads" -name 'tmp-*')" ] || fail "temporary files left"
echo "$dg0 intact after ENOSPC"
exit 0
