#!/bin/bash
# Chunked uploads: POST, PATCH with and without Content-Range, out-of-order
# chunks (416), status, closing PUT with a final chunk, cancel, unknown
# sessions, and the state after each bad request.
. "$(dirname "$0")/lib.sh"
start_server

f=$TMP/blob
head -c 300000 /dev/urandom >"$f"
dg=$(sha256 "$f")
head -c 100000 "$f" >"$TMP/c1"
tail -c +100001 "$f" | head -c 100000 >"$TMP/c2"
tail -c +200001 "$f" >"$TMP/c3"

req POST /v2/chunky/blobs/uploads/ -H 'Content-Length: 0'
expect 202
loc=$(upload_location)
id=$(hdr Docker-Upload-UUID)
[ "$loc" = "/v2/chunky/blobs/uploads/$id" ] || fail "Location $loc vs id $id"
expect_hdr Range 0-0

# Upload state: GET says where it stands.
status_is() {
	req GET "$loc"
	expect 204
	expect_hdr Range "$1"
	expect_hdr Location "$loc"
	expect_hdr Docker-Upload-UUID "$id"
}
status_is 0-0

# First chunk with Content-Range.
req PATCH "$loc" --data-binary "@$TMP/c1" -H 'Content-Range: 0-99999' \
	-H 'Content-Type: application/octet-stream'
expect 202
expect_hdr Range 0-99999
expect_hdr Location "$loc"
expect_hdr Docker-Upload-UUID "$id"
status_is 0-99999

# The same chunk again, a gap, a malformed range, a length mismatch: all
# refused, and the upload does not move.
req PATCH "$loc" --data-binary "@$TMP/c1" -H 'Content-Range: 0-99999'
expect 416 RANGE_INVALID
expect_hdr Range 0-99999
expect_hdr Location "$loc"
req PATCH "$loc" --data-binary "@$TMP/c2" -H 'Content-Range: 100001-200000'
expect 416
req PATCH "$loc" --data-binary "@$TMP/c2" -H 'Content-Range: bytes 100000-199999'
expect 400 BLOB_UPLOAD_INVALID
req PATCH "$loc" --data-binary "@$TMP/c2" -H 'Content-Range: 100000-'
expect 400 BLOB_UPLOAD_INVALID
req PATCH "$loc" --data-binary "@$TMP/c2" -H 'Content-Range: 100000-100009'
expect 400 SIZE_INVALID
req PATCH "$loc" --data-binary "@$TMP/c2" -H 'Content-Range: 100000-99999'
expect 416
status_is 0-99999

# Second chunk streamed without Content-Range (chunked encoding, as
# docker and containerd do).
req PATCH "$loc" -T - -H 'Transfer-Encoding: chunked' <"$TMP/c2"
expect 202
expect_hdr Range 0-199999
status_is 0-199999

# Closing PUT: wrong digest syntax first (nothing changes), then the last
# chunk in the PUT body with the whole blob's digest.
req PUT "$loc?digest=sha256:bad" --data-binary "@$TMP/c3"
expect 400 DIGEST_INVALID
req PUT "$loc?digest=$dg" --data-binary "@$TMP/c3" -H 'Content-Range: 0-5'
expect 416
status_is 0-199999
req PUT "$loc?digest=$dg" --data-binary "@$TMP/c3" \
	-H 'Content-Range: 200000-299999'
expect 201
expect_hdr Location "/v2/chunky/blobs/$dg"
expect_hdr Docker-Content-Digest "$dg"
req GET "/v2/chunky/blobs/$dg"
expect 200
same_file "$B" "$f"

# The session is over.
for m in GET PATCH PUT DELETE; do
	req "$m" "$loc?digest=$dg" --data-binary x
	expect 404 BLOB_UPLOAD_UNKNOWN
done

# All chunks by PATCH, then an empty PUT.
req POST /v2/chunky/blobs/uploads/
loc=$(upload_location)
req PATCH "$loc" --data-binary "@$f"
expect 202
expect_hdr Range 0-299999
req PUT "$loc?digest=$dg" -H 'Content-Length: 0'
expect 201

# Unknown, malformed and foreign upload ids.
for u in 00000000-0000-0000-0000-000000000000 nope .. \
	"$(printf 'a%.0s' $(seq 1 60))"; do
	req GET "/v2/chunky/blobs/uploads/$u" --path-as-is
	expect 404 BLOB_UPLOAD_UNKNOWN
	req PATCH "/v2/chunky/blobs/uploads/$u" --data-binary x --path-as-is
	expect 404 BLOB_UPLOAD_UNKNOWN
done
# An escaped slash is a slash: no such route.
req GET '/v2/chunky/blobs/uploads/x%2F..%2Fy'
expect 404
req POST /v2/chunky/blobs/uploads/
loc=$(upload_location)
id=$(hdr Docker-Upload-UUID)
req PATCH "$loc" --data-binary "@$TMP/c1"
other=${loc/chunky/other}
req GET "$other"
expect 404 BLOB_UPLOAD_UNKNOWN
req PATCH "$other" --data-binary "@$TMP/c1"
expect 404 BLOB_UPLOAD_UNKNOWN
status_is 0-99999

# Cancel: 204, then unknown.
req DELETE "$loc"
expect 204
req GET "$loc"
expect 404 BLOB_UPLOAD_UNKNOWN
req DELETE "$loc"
expect 404 BLOB_UPLOAD_UNKNOWN

# The blob pushed above is still intact after all that.
req GET "/v2/chunky/blobs/$dg"
same_file "$B" "$f"

stop_server
