#!/bin/bash
# A manifest read from an S3 that stopped answering (hold_proxy.py holds
# every request to the Ceph RGW) is waited for on the work pool: while
# that GET is still pending, GET /v2/ on the same node (one event-loop
# thread) answers; once S3 answers again the manifest GET gets its bytes.
# The same with a pull policy (--deny-severity), whose phase reads the
# manifest before the handler.  --s3-cache 0: every read goes to S3.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_ceph.sh"
need python3
. "$(dirname "$0")/s3hold_lib.sh"
ceph_start
hold_start
S3_FLAGS=(--storage s3 --s3-endpoint "$HOLD_ENDPOINT"
	--s3-region "$S3_REGION" --s3-bucket "$S3_BUCKET" --s3-prefix "$S3_PREFIX")
FLAGS=("${S3_FLAGS[@]}" --s3-cache 0 --threads 1 --gc-interval 0
	--scrub-interval 0 --db-update-interval 0)
start_server "${FLAGS[@]}"

printf '{"architecture":"amd64","os":"linux"}' >"$TMP/config"
head -c 4096 /dev/urandom >"$TMP/layer"
cdg=$(push_blob slow "$TMP/config")
ldg=$(push_blob slow "$TMP/layer")
cat >"$TMP/manifest" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
 "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$cdg","size":$(stat -c %s "$TMP/config")},
 "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"$ldg","size":4096}]}
JSON
push_manifest slow v1 "$TMP/manifest" application/vnd.oci.image.manifest.v1+json
# Its scan is over before S3 is held, so that only the GET waits.
req GET "/v2/slow/_customs/scan/v1?wait=60"
expect 200

# held_get: S3 stops answering reads of the manifest; a GET waits on it.
held_get() {
	local getpid

	hold "GET /$S3_BUCKET/$S3_PREFIX/blobs/sha256/$(sha256sum "$TMP/manifest" | cut -d' ' -f1)"
	curl -sS -o "$TMP/got" -w '%{http_code}' --max-time 120 \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"$URL/v2/slow/manifests/v1" >"$TMP/got.status" &
	getpid=$!
	hold_wait
	kill -0 "$getpid" 2>/dev/null || fail "the manifest GET ended while S3 was held"

	# The loop is free: /v2/ and a blob HEAD's 404 (metadata only) answer.
	req GET /v2/
	expect 200
	req HEAD "/v2/slow/blobs/sha256:$(printf '%064d' 0)"
	[ "$STATUS" = 404 ] || fail "HEAD of an unknown blob: $STATUS"
	kill -0 "$getpid" 2>/dev/null ||
		fail "the manifest GET ended before S3 answered: $(cat "$TMP/got.status")"

	# S3 answers again: the GET gets the manifest.
	unhold
	wait "$getpid" || fail "manifest GET failed"
	[ "$(cat "$TMP/got.status")" = 200 ] || fail "manifest GET: $(cat "$TMP/got.status")"
	same_file "$TMP/got" "$TMP/manifest"
}
held_get
stop_server
# A pull policy reads the manifest first; without a DB, scanned or not,
# the image is served.
start_server "${FLAGS[@]}" --deny-severity critical --policy-without-db allow \
	--policy-on-scan-error allow --policy-wait 0
held_get
stop_server
echo "ok"
