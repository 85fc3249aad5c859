#!/bin/bash
# --s3-redirect on a real Ceph RADOS Gateway: a blob GET answers 307 to a
# presigned URL of the object; skopeo and curl follow it and get every
# byte, a Range goes to S3 and comes back right, HEAD still answers
# itself, a blob unknown in the repository is a 404 from the registry,
# and an expired URL is refused by S3.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_ceph.sh"
. "$ROOT/tests/data/images/mklayout.sh"
need skopeo
ceph_start
start_server "${S3_FLAGS[@]}" --s3-part-size 5MiB --s3-redirect
skopeo_setup

s=$TMP/stage
mkdir -p "$s/big"
head -c $((6 << 20)) /dev/urandom >"$s/big/random.bin"
oci_image "$TMP/lay" app "$s/big" >/dev/null
"${SK[@]}" copy -q --dest-tls-verify=false "oci:$TMP/lay:app" \
	"docker://$REG/r/app:v1" || fail "skopeo copy in"
big=sha256:$(ls -S "$TMP"/lay/blobs/sha256/ | head -n 1)
file=$TMP/lay/blobs/sha256/${big#sha256:}

# The 307 names the object in the bucket, signed, for 15 minutes.
req GET "/v2/r/app/blobs/$big"
expect 307
loc=$(hdr Location)
case $loc in
"$S3_ENDPOINT/$S3_BUCKET/$S3_PREFIX/blobs/sha256/${big#sha256:}?"*X-Amz-Expires=900*X-Amz-Signature=*) ;;
*) fail "Location: $loc" ;;
esac

# skopeo follows it for every blob.
"${SK[@]}" copy -q --src-tls-verify=false "docker://$REG/r/app:v1" \
	"oci:$TMP/back:app" || fail "skopeo copy out"
for f in "$TMP"/lay/blobs/sha256/*; do
	same_file "$f" "$TMP/back/blobs/sha256/${f##*/}"
done
# curl too, whole and by range.
curl -sfL -o "$TMP/whole" "$URL/v2/r/app/blobs/$big" || fail "GET following"
same_file "$file" "$TMP/whole"
curl -sfL -r 1000-1999 -o "$TMP/range" -w '%{http_code}' \
	"$URL/v2/r/app/blobs/$big" >"$TMP/code" || fail "range GET"
[ "$(cat "$TMP/code")" = 206 ] || fail "range answered $(cat "$TMP/code")"
tail -c +1001 "$file" | head -c 1000 | cmp -s - "$TMP/range" || fail "range bytes differ"

# HEAD answers itself; unknown blobs are the registry's 404.
req HEAD "/v2/r/app/blobs/$big"
expect 200
[ "$(hdr Content-Length)" = "$(stat -c %s "$file")" ] || fail "HEAD length"
req GET "/v2/other/blobs/$big"
expect 404 BLOB_UNKNOWN

# An expired URL is refused.
stop_server
start_server "${S3_FLAGS[@]}" --s3-redirect --s3-redirect-expiry 1s
req GET "/v2/r/app/blobs/$big"
expect 307
loc=$(hdr Location)
sleep 3
code=$(curl -s -o /dev/null -w '%{http_code}' "$loc")
[ "$code" = 403 ] || fail "an expired URL answered $code"

# Without --storage s3 the flag is refused.
"$CUSTOMS" serve --data "$TMP/fs" --s3-redirect >"$TMP/cli.out" 2>&1 &&
	fail "--s3-redirect on fs was taken"
grep -q "needs --storage s3" "$TMP/cli.out" || fail "$(cat "$TMP/cli.out")"
echo ok
