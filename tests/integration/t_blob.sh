#!/bin/bash
# Blobs: monolithic pushes (single POST, POST then PUT), GET/HEAD with
# ranges, DELETE, cross-repository mounts, and the error paths.
. "$(dirname "$0")/lib.sh"
start_server

f=$TMP/blob
head -c 100000 /dev/urandom >"$f"
dg=$(sha256 "$f")
bad_dg=sha256:$(printf '0%.0s' $(seq 1 64))

# Single POST with ?digest= and the body: 201.
req POST "/v2/lib/one/blobs/uploads/?digest=$dg" --data-binary "@$f" \
	-H 'Content-Type: application/octet-stream'
expect 201
expect_hdr Location "/v2/lib/one/blobs/$dg"
expect_hdr Docker-Content-Digest "$dg"

# GET: the same bytes, with the headers clients rely on.
req GET "/v2/lib/one/blobs/$dg"
expect 200
same_file "$B" "$f"
expect_hdr Docker-Content-Digest "$dg"
expect_hdr Content-Length 100000
expect_hdr Content-Type application/octet-stream
expect_hdr Accept-Ranges bytes

req HEAD "/v2/lib/one/blobs/$dg"
expect 200
expect_hdr Content-Length 100000
expect_hdr Docker-Content-Digest "$dg"

# Ranges: 206 with Content-Range, or 416.
req GET "/v2/lib/one/blobs/$dg" -H 'Range: bytes=10-19'
expect 206
expect_hdr Content-Range "bytes 10-19/100000"
expect_hdr Content-Length 10
cmp -s "$B" <(tail -c +11 "$f" | head -c 10) || fail "range bytes differ"
req GET "/v2/lib/one/blobs/$dg" -H 'Range: bytes=99990-'
expect 206
expect_hdr Content-Range "bytes 99990-99999/100000"
req GET "/v2/lib/one/blobs/$dg" -H 'Range: bytes=200000-'
expect 416 RANGE_INVALID
expect_hdr Content-Range "bytes */100000"

# Unknown and malformed digests; a blob of another repository.
req GET "/v2/lib/one/blobs/$bad_dg"
expect 404 BLOB_UNKNOWN
req HEAD "/v2/lib/one/blobs/$bad_dg"
[ "$STATUS" = 404 ] || fail "HEAD unknown blob: $STATUS"
for d in sha256:abc sha256:XYZ md5:abcd nodigest "sha256:${dg#sha256:}0" \
	"SHA256:${dg#sha256:}"; do
	req GET "/v2/lib/one/blobs/$d"
	expect 400 DIGEST_INVALID
done
req GET "/v2/lib/other/blobs/$dg"
expect 404 BLOB_UNKNOWN

# POST then PUT (body in the PUT).
f2=$TMP/blob2
head -c 5000 /dev/urandom >"$f2"
dg2=$(sha256 "$f2")
req POST /v2/lib/two/blobs/uploads/
expect 202
loc=$(upload_location)
[ -n "$(hdr Docker-Upload-UUID)" ] || fail "no Docker-Upload-UUID"
expect_hdr Range 0-0
req PUT "$loc?digest=$dg2" --data-binary "@$f2" \
	-H 'Content-Type: application/octet-stream'
expect 201
expect_hdr Location "/v2/lib/two/blobs/$dg2"
req GET "/v2/lib/two/blobs/$dg2"
same_file "$B" "$f2"

# Wrong digest at completion: 400, the blob is not stored, the session
# is gone.
req POST /v2/lib/two/blobs/uploads/
loc=$(upload_location)
req PUT "$loc?digest=$bad_dg" --data-binary "@$f2"
expect 400 DIGEST_INVALID
req GET "/v2/lib/two/blobs/$bad_dg"
expect 404 BLOB_UNKNOWN
req GET "$loc"
expect 404 BLOB_UPLOAD_UNKNOWN
# Single POST with the wrong digest.
req POST "/v2/lib/three/blobs/uploads/?digest=$bad_dg" --data-binary "@$f2"
expect 400 DIGEST_INVALID
req GET "/v2/lib/three/blobs/$bad_dg"
expect 404 BLOB_UNKNOWN
# Malformed or missing digest parameters.
req POST "/v2/lib/three/blobs/uploads/?digest=sha256:nope" --data-binary "@$f2"
expect 400 DIGEST_INVALID
req POST /v2/lib/two/blobs/uploads/
loc=$(upload_location)
req PUT "$loc" --data-binary "@$f2"
expect 400 DIGEST_INVALID
req PUT "$loc?digest=sha1:abc" --data-binary "@$f2"
expect 400 DIGEST_INVALID
# The session survived the bad requests untouched.
req GET "$loc"
expect 204
expect_hdr Range 0-0

# An empty blob.
: >"$TMP/empty"
edg=$(sha256 "$TMP/empty")
req POST "/v2/lib/one/blobs/uploads/?digest=$edg" --data-binary "@$TMP/empty"
expect 201
req GET "/v2/lib/one/blobs/$edg"
expect 200
expect_hdr Content-Length 0

# Mounts: from a repository that has it; without `from` (anywhere in the
# store); from one that lacks it (a new session instead).
req POST "/v2/lib/mounted/blobs/uploads/?mount=$dg&from=lib/one"
expect 201
expect_hdr Location "/v2/lib/mounted/blobs/$dg"
expect_hdr Docker-Content-Digest "$dg"
req GET "/v2/lib/mounted/blobs/$dg"
same_file "$B" "$f"
req POST "/v2/lib/anywhere/blobs/uploads/?mount=$dg2"
expect 201
req HEAD "/v2/lib/anywhere/blobs/$dg2"
expect 200
req POST "/v2/lib/nomount/blobs/uploads/?mount=$dg&from=lib/two"
expect 202
[ -n "$(upload_location)" ] || fail "mount fallback has no Location"
req POST "/v2/lib/nomount/blobs/uploads/?mount=$bad_dg&from=lib/one"
expect 202
req HEAD "/v2/lib/nomount/blobs/$dg"
[ "$STATUS" = 404 ] || fail "failed mount linked the blob"
req POST "/v2/lib/nomount/blobs/uploads/?mount=sha256:zz&from=lib/one"
expect 400 DIGEST_INVALID
req POST "/v2/lib/nomount/blobs/uploads/?mount=$dg&from=Bad..Name"
expect 400 NAME_INVALID

# DELETE: 202, then gone from that repository only.
req DELETE "/v2/lib/mounted/blobs/$dg"
expect 202
req GET "/v2/lib/mounted/blobs/$dg"
expect 404 BLOB_UNKNOWN
req DELETE "/v2/lib/mounted/blobs/$dg"
expect 404 BLOB_UNKNOWN
req GET "/v2/lib/one/blobs/$dg"
expect 200
same_file "$B" "$f"

stop_server
