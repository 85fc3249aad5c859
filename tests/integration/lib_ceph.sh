# lib_ceph.sh: sourced (after lib.sh) by the tests that keep blobs in S3.
#
# A real Ceph RADOS Gateway on loopback (tests/integration/ceph_rgw).  When
# CUSTOMS_S3_ENV names the env file of one that is running (make test
# starts one for the whole run: `ceph_rgw start DIR > ENV`), the test
# uses it, under a key prefix of its own; else it starts its own under
# $TMP and stops it on exit.
#
#   ceph_start        sets S3_ENDPOINT S3_REGION S3_BUCKET S3_PREFIX and
#                     S3_FLAGS (the serve/gc/fsck flags), exports the
#                     AWS_* credentials
#   s3_keys PREFIX    the keys under PREFIX (relative to the bucket)
#   s3_uploads PREFIX the keys of multipart uploads in progress under it
#   s3_put KEY FILE   writes an object behind the registry's back
#   s3_purge PREFIX   deletes every key under PREFIX
#
# lib.sh sources it too on the dist backend; a second source is a no-op.

[ -z "${LIB_CEPH:-}" ] || return 0
LIB_CEPH=1
CEPH_DIR=

ceph_cleanup() {
	if [ -n "$CEPH_DIR" ]; then
		"$ROOT/tests/integration/ceph_rgw" stop "$CEPH_DIR" || true
	fi
}
# Before the cleanup already set (lib.sh's, or proxy_lib.sh's), with the
# test's exit status.
CEPH_NEXT_TRAP=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
trap 'rc=$?; set +e; ceph_cleanup; (exit $rc); eval "${CEPH_NEXT_TRAP:-lib_cleanup}"' EXIT

ceph_start() {
	if [ -n "${CUSTOMS_S3_ENV:-}" ] && [ -s "$CUSTOMS_S3_ENV" ]; then
		. "$CUSTOMS_S3_ENV"
	else
		need ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph
		CEPH_DIR=$TMP/ceph
		"$ROOT/tests/integration/ceph_rgw" start "$CEPH_DIR" \
			>"$TMP/ceph.env" 2>"$TMP/ceph.log" ||
			fail "ceph_rgw start: $(tail -n 5 "$TMP/ceph.log")"
		. "$TMP/ceph.env"
	fi
	S3_PREFIX=$T-$$-$RANDOM
	S3_FLAGS=(--storage s3 --s3-endpoint "$S3_ENDPOINT"
		--s3-region "$S3_REGION" --s3-bucket "$S3_BUCKET"
		--s3-prefix "$S3_PREFIX")
}

# s3_curl PATH-AND-QUERY [curl args]: a signed request to the bucket.
s3_curl() {
	local pq=$1

	shift
	curl -sf --aws-sigv4 "aws:amz:$S3_REGION:s3" \
		--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$@" \
		"$S3_ENDPOINT/$S3_BUCKET$pq"
}

S3_EMPTY_SHA=$(printf '' | sha256sum | cut -d' ' -f1)

# s3_get QUERY: GET the bucket with QUERY (sorted, encoded) into $TMP/s3.xml.
s3_get() {
	s3_curl "?$1" -o "$TMP/s3.xml" -H "x-amz-content-sha256: $S3_EMPTY_SHA" ||
		fail "S3 GET ?$1"
}

s3_keys() {
	s3_get "list-type=2&prefix=$(jq -rn --arg p "$1" '$p|@uri')"
	grep -o '<Key>[^<]*</Key>' "$TMP/s3.xml" | sed 's/<[^>]*>//g' || true
}

# s3_objects PREFIX: "KEY SIZE" of the keys under PREFIX.
s3_objects() {
	s3_get "list-type=2&prefix=$(jq -rn --arg p "$1" '$p|@uri')"
	sed 's/<Contents>/\n/g' "$TMP/s3.xml" |
		sed -nE 's|.*<Key>([^<]*)</Key>.*<Size>([0-9]+)</Size>.*|\1 \2|p'
}

s3_uploads() {
	s3_get "prefix=$(jq -rn --arg p "$1" '$p|@uri')&uploads="
	grep -o '<Key>[^<]*</Key>' "$TMP/s3.xml" | sed 's/<[^>]*>//g' || true
}

# s3_put KEY FILE: writes an object behind the registry's back.
s3_put() {
	s3_curl "/$1" -o /dev/null -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		-T "$2" || fail "S3 PUT $1"
}

# s3_mpus PREFIX: "KEY UPLOAD-ID" of the multipart uploads under PREFIX.
s3_mpus() {
	s3_get "prefix=$(jq -rn --arg p "$1" '$p|@uri')&uploads="
	grep -o '<Key>[^<]*</Key><UploadId>[^<]*</UploadId>' "$TMP/s3.xml" |
		sed -E 's|<Key>([^<]*)</Key><UploadId>([^<]*)</UploadId>|\1 \2|'
}

# s3_bytes PREFIX: the bytes of the objects and of the parts of the
# multipart uploads under PREFIX.
s3_bytes() {
	local k id n

	n=$(s3_objects "$1" | awk '{ s += $2 } END { print s + 0 }')
	while read -r k id; do
		s3_curl "/$k?uploadId=$id" -o "$TMP/s3parts.xml" \
			-H "x-amz-content-sha256: $S3_EMPTY_SHA" || fail "S3 parts of $k"
		n=$((n + $(grep -o '<Size>[0-9]*</Size>' "$TMP/s3parts.xml" |
			tr -dc '0-9\n' | awk '{ s += $1 } END { print s + 0 }')))
	done < <(s3_mpus "$1")
	echo "$n"
}

# s3_purge PREFIX: aborts the multipart uploads, deletes the keys (a
# listing returns at most 1000 keys, hence rounds).
s3_purge() {
	local keys k id

	s3_mpus "$1" |
		while read -r k id; do
			s3_curl "/$k?uploadId=$id" -o /dev/null -X DELETE \
				-H "x-amz-content-sha256: $S3_EMPTY_SHA" || true
		done
	for _ in $(seq 1 50); do
		keys=$(s3_keys "$1")
		[ -n "$keys" ] || return 0
		for k in $keys; do
			s3_curl "/$k" -o /dev/null -X DELETE \
				-H "x-amz-content-sha256: $S3_EMPTY_SHA" ||
				fail "S3 DELETE $k"
		done
	done
}
