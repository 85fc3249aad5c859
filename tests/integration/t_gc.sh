#!/bin/bash
# gc: online inside serve on a schedule, and `customs gc` / `customs fsck`
# beside a running server.  What a tag reaches stays; a blob nothing
# refers to, an abandoned upload and (with --gc-untagged) an untagged
# manifest go, each only once older than the grace period.
. "$(dirname "$0")/lib.sh"

# 1. `customs gc` beside a server, with the default grace: nothing young
# is touched.
start_server
dg=$(push_image gc v1 "$TMP" kept)
cp "$TMP/manifest-kept.json" "$TMP/kept"
head -c 5000 /dev/urandom >"$TMP/loose"
loose=$(push_blob gc "$TMP/loose")
customs_run gc --data "$DATA" >"$TMP/gc.out" 2>&1 || fail "gc: $(cat "$TMP/gc.out")"
grep -q "collecting beside it" "$TMP/gc.out" || fail "gc did not see the server"
grep -q "^gc: freed 0 blobs" "$TMP/gc.out" || fail "young blobs freed: $(cat "$TMP/gc.out")"
customs_run gc --data "$DATA" --gc-grace 0 --dry-run >"$TMP/gc.out" 2>&1
grep -q "would free blob $loose (5000 bytes)" "$TMP/gc.out" ||
	fail "dry run: $(cat "$TMP/gc.out")"
req HEAD "/v2/gc/blobs/$loose"
expect 200
# Tagged until part 2 deletes the tag: with no grace there, its blobs
# could go between their push and the manifest's.
untagged=$(push_image gc untagged "$TMP" gone)
stop_server

# 2. Online: every second, no grace, uploads idle 1 s expire.
start_server --gc-interval 1 --gc-grace 0 --upload-ttl 1 --gc-untagged \
	--max-sweep-share 100 \
	--log-level debug
push_manifest gc "$(sha256 "$TMP/kept")" "$TMP/kept" "$OCI_MANIFEST"
req POST /v2/gc/blobs/uploads/
expect 202
loc=$(upload_location)
req PATCH "$loc" --data-binary "@$TMP/loose" -H 'Content-Range: 0-4999'
expect 202
req DELETE "/v2/gc/manifests/untagged"
expect 202
for i in $(seq 1 100); do
	grep -q "gc: freed blob $loose" "$TMP/server.log" &&
		grep -q "gc: freed upload ${loc##*/}" "$TMP/server.log" && break
	sleep 0.1
done
grep -q "gc: freed blob $loose" "$TMP/server.log" || fail "the loose blob stayed"
grep -q "gc: freed upload ${loc##*/}" "$TMP/server.log" ||
	fail "the abandoned upload stayed"
for i in $(seq 1 100); do
	grep -q "gc: freed manifest gc@$untagged" "$TMP/server.log" && break
	sleep 0.1
done
req GET "/v2/gc/manifests/$untagged" -H "Accept: $OCI_MANIFEST"
expect 404 MANIFEST_UNKNOWN
req HEAD "/v2/gc/blobs/$loose"
expect 404
req GET "$loc"
expect 404 BLOB_UPLOAD_UNKNOWN
! store_uploads | grep -q "${loc##*/}" || fail "the upload's data stayed"
# The tagged image is whole.
req GET /v2/gc/manifests/v1 -H "Accept: $OCI_MANIFEST"
expect 200
same_file "$B" "$TMP/kept"
for d in $(jq -r '.config.digest, .layers[].digest' "$TMP/kept"); do
	req HEAD "/v2/gc/blobs/$d"
	expect 200
done
customs_run fsck --data "$DATA" >"$TMP/fsck.out" 2>&1 ||
	fail "fsck beside the server: $(cat "$TMP/fsck.out")"
stop_server
grep -q "gc: freed" "$TMP/server.log" || fail "no gc run logged"
echo "$dg kept; $loose and upload ${loc##*/} freed online"
exit 0
