#!/bin/bash
# Blobs in S3 (--storage s3) on a real Ceph RADOS Gateway: skopeo pushes an
# image whose layer spans several multipart parts and pulls it back byte
# for byte; Range GETs, a cross-repository mount, a chunked upload whose
# tail waits in S3 between PATCHes, an upload continued across a restart
# of the node (its hash state and multipart state come from the metadata;
# with one sqlite file per node that is the sharing there is), a cancelled
# upload that leaves no object and no multipart upload, the scan report
# (the scanner reads the layers from S3), the node-local cache of blobs
# read, gc of an unreferenced blob, a clean fsck and one that finds an
# object changed behind the registry's back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_ceph.sh"
. "$(dirname "$0")/scanpush_lib.sh"
need skopeo
ceph_start
PART=$((5 << 20))

# finish_upload LOCATION FILE REPO: the closing PUT with FILE's digest,
# then the blob read back byte for byte.
finish_upload() {
	local dg sep

	dg=$(sha256 "$2")
	case $1 in *\?*) sep='&' ;; *) sep='?' ;; esac
	req PUT "$1${sep}digest=$dg"
	expect 201
	curl -sf -o "$2.back" "$URL/v2/$3/blobs/$dg" || fail "GET $3 $dg"
	same_file "$2" "$2.back"
}

sp_db "$TMP/vulndb.db"
mkdir -p "$DATA"
cp "$TMP/vulndb.db" "$DATA/vulndb.db"
start_server "${S3_FLAGS[@]}" --s3-part-size 5MiB --scan-workers 1
skopeo_setup

# Credentials never on the command line.
"$CUSTOMS" serve --data "$TMP/x" "${S3_FLAGS[@]}" --s3-secret-key=x \
	>"$TMP/cli.out" 2>&1 && fail "a secret on the command line was taken"
grep -q "never on the command line" "$TMP/cli.out" || fail "$(cat "$TMP/cli.out")"

# --- skopeo: an image with a 12 MiB (random, so incompressible) layer.
s=$TMP/stage
fixture_stage "$SP_DATA/images/debian-bookworm-minbase" "$s/debian"
mkdir -p "$s/big"
head -c $((12 << 20)) /dev/urandom >"$s/big/random.bin"
oci_image "$L" app "$s/debian" "$s/big" >/dev/null
"${SK[@]}" copy -q --dest-tls-verify=false "oci:$L:app" \
	"docker://$REG/s3/app:v1" || fail "skopeo copy in"
req GET /v2/s3/app/manifests/v1
expect 200
mdg=$(hdr Docker-Content-Digest)
big=$(jq -r '.layers | max_by(.size) | .digest' "$B")
[ "$(jq -r '.layers | max_by(.size) | .size' "$B")" -gt $((2 * PART)) ] ||
	fail "the big layer is not larger than two parts"
s3_keys "$S3_PREFIX/blobs/" | grep -qx "$S3_PREFIX/blobs/sha256/${big#sha256:}" ||
	fail "the layer is not an object of the bucket: $(s3_keys "$S3_PREFIX/")"
[ -z "$(s3_keys "$S3_PREFIX/uploads/")" ] || fail "uploads left: $(s3_keys "$S3_PREFIX/uploads/")"
[ -z "$(s3_uploads "$S3_PREFIX/")" ] || fail "multipart uploads left"

"${SK[@]}" copy -q --src-tls-verify=false "docker://$REG/s3/app:v1" \
	"oci:$TMP/back:app" || fail "skopeo copy out"
for f in "$L"/blobs/sha256/*; do
	same_file "$f" "$TMP/back/blobs/sha256/${f##*/}"
done
# Served from a node-local copy, kept for the next reads.
same_file "$L/blobs/sha256/${big#sha256:}" "$DATA/s3/cache/sha256-${big#sha256:}"

# --- Range GETs pass through.
curl -sf -r 1000-1999 -o "$TMP/range" "$URL/v2/s3/app/blobs/$big" || fail "range GET"
tail -c +1001 "$L/blobs/sha256/${big#sha256:}" | head -c 1000 | cmp -s - "$TMP/range" ||
	fail "range bytes differ"
req GET "/v2/s3/app/blobs/$big" -H "Range: bytes=$((13 << 20))-"
expect 416

# --- The scanner read the layers from S3.
sp_report s3/app "$mdg" 90
jq -e '.packages | length == 88' "$B" >/dev/null || fail "report: $(head -c 400 "$B")"

# --- Cross-repository mount.
req POST "/v2/s3/other/blobs/uploads/?mount=$big&from=s3/app"
expect 201
req HEAD "/v2/s3/other/blobs/$big"
expect 200

# --- A chunked upload: 3 PATCHes, the tail in S3 between them.
head -c $((11 << 20)) /dev/urandom >"$TMP/chunked"
req POST /v2/s3/chunked/blobs/uploads/
expect 202
loc=$(upload_location)
off=0
for n in $((4 << 20)) $((4 << 20)) $((3 << 20)); do
	tail -c +$((off + 1)) "$TMP/chunked" | head -c "$n" >"$TMP/chunk"
	req PATCH "$loc" --data-binary "@$TMP/chunk" \
		-H 'Content-Type: application/octet-stream' \
		-H "Content-Range: $off-$((off + n - 1))"
	expect 202
	off=$((off + n))
	loc=$(upload_location)
done
finish_upload "$loc" "$TMP/chunked" s3/chunked

# --- A sha512 digest: the finish reads the completed upload back from S3.
head -c $((7 << 20)) /dev/urandom >"$TMP/s512"
d512=sha512:$(sha512sum "$TMP/s512" | cut -d' ' -f1)
req POST /v2/s3/s512/blobs/uploads/
expect 202
loc=$(upload_location)
req PATCH "$loc" --data-binary "@$TMP/s512" -H 'Content-Type: application/octet-stream'
expect 202
loc=$(upload_location)
case $loc in *\?*) sep='&' ;; *) sep='?' ;; esac
req PUT "$loc${sep}digest=$d512"
expect 201
curl -sf -o "$TMP/s512.back" "$URL/v2/s3/s512/blobs/$d512" || fail "GET sha512"
same_file "$TMP/s512" "$TMP/s512.back"
s3_keys "$S3_PREFIX/blobs/sha512/" | grep -q "${d512#sha512:}" || fail "no sha512 object"

# --- A cancelled upload leaves no object and no multipart upload.
head -c $((6 << 20)) /dev/urandom >"$TMP/cancel"
req POST /v2/s3/cancel/blobs/uploads/
expect 202
loc=$(upload_location)
req PATCH "$loc" --data-binary "@$TMP/cancel" -H 'Content-Type: application/octet-stream'
expect 202
[ -n "$(s3_uploads "$S3_PREFIX/uploads/")" ] || fail "no multipart upload after a part"
req DELETE "$loc"
expect 204
[ -z "$(s3_uploads "$S3_PREFIX/")" ] || fail "cancel left a multipart upload"
[ -z "$(s3_keys "$S3_PREFIX/uploads/")" ] || fail "cancel left $(s3_keys "$S3_PREFIX/uploads/")"
# A closing PUT whose bytes have another digest ends the upload: its tail
# is not written back when the handle closes.
head -c 3000 /dev/urandom >"$TMP/wrongdg"
req POST /v2/s3/cancel/blobs/uploads/
expect 202
loc=$(upload_location)
req PUT "$loc$(case $loc in *\?*) echo '&' ;; *) echo '?' ;; esac)digest=sha256:$(printf '%064d' 0)" \
	--data-binary "@$TMP/wrongdg" -H 'Content-Type: application/octet-stream'
expect 400 DIGEST_INVALID
[ -z "$(s3_keys "$S3_PREFIX/uploads/")" ] || fail "a wrong digest left $(s3_keys "$S3_PREFIX/uploads/")"

# --- An upload continued after the node restarted: 7 MiB (a part and a
# tail), then the rest; the running hash comes back from the metadata.
head -c $((10 << 20)) /dev/urandom >"$TMP/resume"
req POST /v2/s3/resume/blobs/uploads/
expect 202
loc=$(upload_location)
head -c $((7 << 20)) "$TMP/resume" >"$TMP/part1"
req PATCH "$loc" --data-binary "@$TMP/part1" -H 'Content-Type: application/octet-stream'
expect 202
stop_server
rm -f "$DATA/s3/cache/sha256-${big#sha256:}"
# Past $CUSTOMS_S3_COPY_MAX (5 GiB unless a test lowers it) the completed
# upload is copied to the blob's key part by part (UploadPartCopy).
CUSTOMS_S3_COPY_MAX=$((5 << 20)) \
	start_server "${S3_FLAGS[@]}" --s3-part-size 5MiB --scan-workers 1 --s3-cache 12MiB
# HEAD only asks S3 for the size: nothing is fetched into the cache.
req HEAD "/v2/s3/app/blobs/$big"
expect 200
[ "$(hdr Content-Length)" = "$(stat -c %s "$L/blobs/sha256/${big#sha256:}")" ] ||
	fail "HEAD Content-Length $(hdr Content-Length)"
[ ! -e "$DATA/s3/cache/sha256-${big#sha256:}" ] || fail "HEAD fetched the blob"
req HEAD "/v2/s3/app/blobs/sha256:$(printf %064d 0)"
expect 404
req GET "$loc"
expect 204
[ "$(hdr Range)" = "0-$(((7 << 20) - 1))" ] || fail "offset after restart: $(hdr Range)"
tail -c +$(((7 << 20) + 1)) "$TMP/resume" >"$TMP/part2"
req PATCH "$loc" --data-binary "@$TMP/part2" -H 'Content-Type: application/octet-stream' \
	-H "Content-Range: $((7 << 20))-$(((10 << 20) - 1))"
expect 202
loc=$(upload_location)
finish_upload "$loc" "$TMP/resume" s3/resume
rdg=$(sha256 "$TMP/resume")
# A multipart object's ETag ends in -<parts>: two copied parts.
curl -sf -I --aws-sigv4 "aws:amz:$S3_REGION:s3" \
	--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
	-H "x-amz-content-sha256: $(printf '' | sha256sum | cut -d' ' -f1)" \
	"$S3_ENDPOINT/$S3_BUCKET/$S3_PREFIX/blobs/sha256/${rdg#sha256:}" >"$TMP/obj.h" ||
	fail "HEAD the resumed blob's object"
grep -qi '^etag: "[0-9a-f]*-2"' "$TMP/obj.h" || fail "not copied in 2 parts: $(cat "$TMP/obj.h")"
[ -z "$(s3_uploads "$S3_PREFIX/")" ] || fail "multipart uploads left after the part copy"
# The cache keeps to its size, least recently used out first.
[ "$(du -sb "$DATA/s3/cache" | cut -f1)" -le $((12 << 20)) ] ||
	fail "cache over 12 MiB: $(ls -l "$DATA/s3/cache")"
[ -f "$DATA/s3/cache/sha256-${rdg#sha256:}" ] || fail "the last blob read is not cached"

# --- gc frees an unreferenced blob (deleted from its repository), keeps
# the rest; fsck then finds the store clean.
head -c 5000 /dev/urandom >"$TMP/loose"
loose=$(push_blob s3/loose "$TMP/loose")
req DELETE "/v2/s3/loose/blobs/$loose"
expect 202
stop_server
customs_run gc --data "$DATA" "${S3_FLAGS[@]}" --gc-grace 0 --max-sweep-share 100 >"$TMP/gc.out" 2>&1 ||
	fail "gc: $(cat "$TMP/gc.out")"
grep -q "$loose" "$TMP/gc.out" || fail "gc did not free the loose blob: $(cat "$TMP/gc.out")"
! s3_keys "$S3_PREFIX/blobs/" | grep -q "${loose#sha256:}" || fail "the loose object stayed"
s3_keys "$S3_PREFIX/blobs/" | grep -q "${big#sha256:}" || fail "gc freed the layer"
customs_run fsck --data "$DATA" "${S3_FLAGS[@]}" >"$TMP/fsck.out" 2>&1 ||
	fail "fsck: $(cat "$TMP/fsck.out")"
# Without a cache: every read fetches.
start_server "${S3_FLAGS[@]}" --s3-cache 0
"${SK[@]}" copy -q --src-tls-verify=false "docker://$REG/s3/app:v1" \
	"oci:$TMP/back2:app" || fail "skopeo copy out after gc"
same_file "$L/blobs/sha256/${big#sha256:}" "$TMP/back2/blobs/sha256/${big#sha256:}"

# fsck hashes S3's bytes (not the node-local copies): an object changed
# behind our back is found.
stop_server
head -c 1000 /dev/urandom >"$TMP/garbage"
s3_put "$S3_PREFIX/blobs/sha256/${big#sha256:}" "$TMP/garbage"
customs_run fsck --data "$DATA" "${S3_FLAGS[@]}" >"$TMP/fsck.out" 2>&1 &&
	fail "fsck missed a changed object"
grep -q "corrupt blob $big" "$TMP/fsck.out" || fail "fsck: $(cat "$TMP/fsck.out")"
# Served, its size does not match: quarantined under PREFIX/quarantine/,
# and the log says so.
start_server "${S3_FLAGS[@]}" --s3-cache 0
curl -s -o /dev/null -w '%{http_code}' "$URL/v2/s3/app/blobs/$big" >"$TMP/code"
[ "$(cat "$TMP/code")" = 404 ] || fail "a damaged blob answered $(cat "$TMP/code")"
s3_keys "$S3_PREFIX/quarantine/" | grep -q "${big#sha256:}" ||
	fail "not quarantined: $(s3_keys "$S3_PREFIX/")"
grep -q "damaged blob $big: .*moved to s3://$S3_BUCKET/$S3_PREFIX/quarantine/ " \
	"$TMP/server.log" || fail "log: $(grep damaged "$TMP/server.log")"
echo "ok"
