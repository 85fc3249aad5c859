#!/bin/bash
# Two nodes on one Ceph RGW (--storage s3) and one PostgreSQL (--meta): an
# upload started on node A goes on on node B (its multipart state, its
# tail and its running hash come from the shared metadata and the bucket),
# is finished there and read back from A; a cancel on A of an upload
# whose part B sent leaves no multipart upload.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_ceph.sh"
ceph_start
pg_db
CI=$PG_CI
declare -A NPID NURL
nodes_cleanup() {
	local n

	for n in "${!NPID[@]}"; do
		kill -TERM "${NPID[$n]}" 2>/dev/null || true
		wait "${NPID[$n]}" 2>/dev/null || true
	done
}
next_trap=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\\1/")
trap 'rc=$?; set +e; nodes_cleanup; (exit $rc); eval "$next_trap"' EXIT

# node NAME: starts it (scratch in $TMP/NAME), URL its address.
node() {
	local n=$1

	mkdir -p "$TMP/$n"
	"$CUSTOMS" serve --listen 127.0.0.1:0 --port-file "$TMP/$n/port" \
		--data "$TMP/$n/data" --threads 2 --meta "$CI" \
		"${S3_FLAGS[@]}" --s3-part-size 5MiB >>"$TMP/$n/server.log" 2>&1 &
	NPID[$n]=$!
	for _ in $(seq 1 200); do
		[ -s "$TMP/$n/port" ] && break
		kill -0 "${NPID[$n]}" 2>/dev/null ||
			fail "node $n exited: $(tail -n 5 "$TMP/$n/server.log")"
		sleep 0.05
	done
	NURL[$n]=http://127.0.0.1:$(cat "$TMP/$n/port")
}
node a
node b

head -c $((12 << 20)) /dev/urandom >"$TMP/blob"
dg=$(sha256 "$TMP/blob")
head -c $((7 << 20)) "$TMP/blob" >"$TMP/p1"
tail -c +$(((7 << 20) + 1)) "$TMP/blob" >"$TMP/p2"

# A: the first 7 MiB (a part in S3, 2 MiB of tail).
URL=${NURL[a]}
req POST /v2/nodes/blobs/uploads/
expect 202
loc=$(upload_location)
req PATCH "$loc" --data-binary "@$TMP/p1" -H 'Content-Type: application/octet-stream'
expect 202
# Between requests: a part, the tail's length and the running hash in
# the upload's row.
id=${loc##*/}
id=${id%%\?*}
psql "$CI" -XAtqc "SELECT blob_state FROM uploads WHERE id = '$id'" >"$TMP/state"
grep -q '^part "' "$TMP/state" && grep -q '^hash [0-9a-f]' "$TMP/state" &&
	[ "$(awk '$1 == "bytes" || $1 == "tail" { n += $2 } END { print n }' \
		"$TMP/state")" = $((7 << 20)) ] || fail "upload state: $(cat "$TMP/state")"
# B: the rest, then the finish.
URL=${NURL[b]}
req GET "$loc"
expect 204
[ "$(hdr Range)" = "0-$(((7 << 20) - 1))" ] || fail "B sees offset $(hdr Range)"
req PATCH "$loc" --data-binary "@$TMP/p2" -H 'Content-Type: application/octet-stream' \
	-H "Content-Range: $((7 << 20))-$(((12 << 20) - 1))"
expect 202
loc=$(upload_location)
case $loc in *\?*) sep='&' ;; *) sep='?' ;; esac
req PUT "$loc${sep}digest=$dg"
expect 201
# A serves it.
URL=${NURL[a]}
curl -sf -o "$TMP/back" "$URL/v2/nodes/blobs/$dg" || fail "GET on A"
same_file "$TMP/blob" "$TMP/back"
[ -z "$(s3_uploads "$S3_PREFIX/")" ] || fail "multipart uploads left"

# B sends a part, A cancels: nothing is left.
URL=${NURL[b]}
req POST /v2/nodes/blobs/uploads/
expect 202
loc=$(upload_location)
req PATCH "$loc" --data-binary "@$TMP/p1" -H 'Content-Type: application/octet-stream'
expect 202
URL=${NURL[a]}
req DELETE "$loc"
expect 204
[ -z "$(s3_uploads "$S3_PREFIX/")" ] || fail "the cancel left a multipart upload"
[ -z "$(s3_keys "$S3_PREFIX/uploads/")" ] || fail "the cancel left $(s3_keys "$S3_PREFIX/uploads/")"
echo ok
