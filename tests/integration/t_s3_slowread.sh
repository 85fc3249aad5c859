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
ceph_start

PROXY_PID=
next_trap=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\\1/")
trap 'rc=$?; set +e; rm -f "$TMP/hold"; [ -n "$PROXY_PID" ] && kill "$PROXY_PID"; (exit $rc); eval "$next_trap"' EXIT

python3 "$ROOT/tests/integration/hold_proxy.py" "$TMP/proxy.port" \
	"${S3_ENDPOINT##*:}" "$TMP/hold" "$TMP/held" &
PROXY_PID=$!
for _ in $(seq 100); do [ -s "$TMP/proxy.port" ] && break; sleep 0.05; done
[ -s "$TMP/proxy.port" ] || fail "hold_proxy.py did not start"
S3_FLAGS=(--storage s3 --s3-endpoint "http://127.0.0.1:$(cat "$TMP/proxy.port")"
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

	rm -f "$TMP/held"
	printf 'GET /%s/%s/blobs/sha256/%s' "$S3_BUCKET" "$S3_PREFIX" \
		"$(sha256sum "$TMP/manifest" | cut -d' ' -f1)" >"$TMP/hold"
	curl -sS -o "$TMP/got" -w '%{http_code}' --max-time 120 \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"$URL/v2/slow/manifests/v1" >"$TMP/got.status" &
	getpid=$!
	for _ in $(seq 600); do [ -e "$TMP/held" ] && break; sleep 0.05; done
	[ -e "$TMP/held" ] || fail "the manifest GET never reached S3"
	kill -0 "$getpid" 2>/dev/null || fail "the manifest GET ended while S3 was held"

	# The loop is free: /v2/ and a blob HEAD's 404 (metadata only) answer.
	req GET /v2/
	expect 200
	req HEAD "/v2/slow/blobs/sha256:$(printf '%064d' 0)"
	[ "$STATUS" = 404 ] || fail "HEAD of an unknown blob: $STATUS"
	kill -0 "$getpid" 2>/dev/null ||
		fail "the manifest GET ended before S3 answered: $(cat "$TMP/got.status")"

	# S3 answers again: the GET gets the manifest.
	rm -f "$TMP/hold"
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
