#!/bin/bash
# The pull-through cache on S3 (--storage s3 --mirror): skopeo pulls an
# image with a layer of several multipart parts through the cache; the
# clients follow the fetch while its parts go to S3, get every byte, and
# the layer ends up an object of the bucket, served from there after the
# upstream is gone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
. "$(dirname "$0")/lib_ceph.sh"
ceph_start

s=$TMP/stage
mkdir -p "$s/big"
head -c $((11 << 20)) /dev/urandom >"$s/big/random.bin"
oci_image "$TMP/lay" big "$s/big" >/dev/null
up_start
up_push "$TMP/lay:big" library/big:v1
start_server "${S3_FLAGS[@]}" --s3-part-size 5MiB --mirror "$UP_URL"

"${SK[@]}" copy -q --src-tls-verify=false "docker://$REG/library/big:v1" \
	"oci:$TMP/back:big" || fail "pull through the cache"
for f in "$TMP"/lay/blobs/sha256/*; do
	same_file "$f" "$TMP/back/blobs/sha256/${f##*/}"
done
wait_cached library/big v1
big=$(ls -S "$TMP"/lay/blobs/sha256/ | head -n 1)
s3_keys "$S3_PREFIX/blobs/" | grep -qx "$S3_PREFIX/blobs/sha256/$big" ||
	fail "the layer is not in the bucket: $(s3_keys "$S3_PREFIX/")"
[ -z "$(s3_uploads "$S3_PREFIX/")" ] || fail "multipart uploads left"

# Served from S3 without the upstream (and without a local copy).
up_stop
stop_server
rm -rf "$DATA/s3/cache"
start_server "${S3_FLAGS[@]}" --mirror "$UP_URL"
curl -sf -o "$TMP/again" "$URL/v2/library/big/blobs/sha256:$big" || fail "GET from S3"
same_file "$TMP/lay/blobs/sha256/$big" "$TMP/again"
echo ok
