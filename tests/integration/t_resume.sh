#!/bin/bash
# Resumable uploads: a chunked upload survives a server restart, and a
# client that goes away in the middle of a PATCH leaves an upload that can
# be resumed where the received bytes end.
. "$(dirname "$0")/lib.sh"
start_server

f=$TMP/blob
head -c 3000000 /dev/urandom >"$f"
dg=$(sha256 "$f")
head -c 1000000 "$f" >"$TMP/part1"
tail -c +1000001 "$f" >"$TMP/rest"

# 1. PATCH a part, restart (SIGTERM), GET status, PATCH the rest, PUT.
req POST /v2/resume/blobs/uploads/
expect 202
loc=$(upload_location)
req PATCH "$loc" --data-binary "@$TMP/part1" -H 'Content-Range: 0-999999'
expect 202
stop_server
start_server
req GET "$loc"
expect 204
expect_hdr Range 0-999999
req PATCH "$loc" --data-binary "@$TMP/rest" -H 'Content-Range: 1000000-2999999'
expect 202
expect_hdr Range 0-2999999
req PUT "$loc?digest=$dg"
expect 201
req GET "/v2/resume/blobs/$dg"
same_file "$B" "$f"

# 2. A client that disconnects mid-PATCH: send 1 MB, then stall, then get
# killed.  The upload keeps what arrived and is not left busy.
req POST /v2/resume/blobs/uploads/
loc=$(upload_location)
mkfifo "$TMP/fifo"
curl -sS -o /dev/null -X PATCH -T - -H 'Transfer-Encoding: chunked' \
	"$URL$loc" <"$TMP/fifo" &
cpid=$!
exec 3>"$TMP/fifo"
cat "$TMP/part1" >&3
for i in $(seq 1 100); do
	req GET "$loc"
	# Busy (409) while the PATCH holds the upload; 204 only after.
	[ "$STATUS" = 409 ] && break
	sleep 0.05
done
[ "$STATUS" = 409 ] || fail "upload not busy during the PATCH: $STATUS"
expect 409 BLOB_UPLOAD_INVALID
# Let the megabyte arrive (DESIGN.md: DIR/uploads/<uuid> holds the data),
# then cut the connection while the writer still holds the pipe open.
for i in $(seq 1 100); do
	[ "$(stat -c %s "$DATA/uploads/${loc##*/}" 2>/dev/null || echo 0)" \
		-ge 1000000 ] && break
	sleep 0.05
done
kill -KILL "$cpid" 2>/dev/null || true
wait "$cpid" 2>/dev/null || true
exec 3>&-
off=
for i in $(seq 1 100); do
	req GET "$loc"
	if [ "$STATUS" = 204 ]; then
		off=$(hdr Range | sed 's/^0-//')
		break
	fi
	sleep 0.05
done
[ -n "$off" ] || fail "upload still busy after the client left: $STATUS"
next=$((off + 1))
[ "$off" = 999999 ] || fail "broken PATCH kept 0-$off, not the 1 MB sent"
tail -c +$((next + 1)) "$f" >"$TMP/rest2"
req PATCH "$loc" --data-binary "@$TMP/rest2" \
	-H "Content-Range: $next-2999999"
expect 202
expect_hdr Range 0-2999999
req PUT "$loc?digest=$dg"
expect 201
req GET "/v2/resume/blobs/$dg"
same_file "$B" "$f"

# 3. Clients that go away in the middle of a monolithic POST or a manifest
# PUT: the POST's session dies with it (nobody knows its id), the manifest
# is not stored, and nothing leaks (an ASan build checks at exit).
broken() { # broken PATH METHOD: sends 100 KB of a body, then hangs up
	rm -f "$TMP/fifo2"
	mkfifo "$TMP/fifo2"
	curl -sS -o /dev/null -X "$2" -T - -H 'Transfer-Encoding: chunked' \
		-H "Content-Type: $OCI_MANIFEST" "$URL$1" <"$TMP/fifo2" &
	cpid=$!
	exec 4>"$TMP/fifo2"
	head -c 100000 "$f" >&4
	sleep 0.3
	kill -KILL "$cpid" 2>/dev/null || true
	wait "$cpid" 2>/dev/null || true
	exec 4>&-
}
broken "/v2/resume/blobs/uploads/?digest=$dg" POST
broken /v2/resume/manifests/broken PUT
sleep 0.2
req GET /v2/resume/manifests/broken
expect 404 MANIFEST_UNKNOWN
# DESIGN.md: uploads in progress live in DIR/uploads/; none is left.
left=$(find "$DATA/uploads" -type f ! -name 'tmp-*' 2>/dev/null | wc -l)
[ "$left" = 0 ] || fail "$left upload(s) left behind: $(ls "$DATA/uploads")"

stop_server
