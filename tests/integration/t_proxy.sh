#!/bin/bash
# The pull-through cache as a mirror (--mirror: every name comes from one
# upstream, what dockerd's registry-mirrors expects), in front of Debian's
# docker-registry: skopeo (an image and an index) and podman pull through
# it; a second pull asks the upstream nothing; a tag past --proxy-ttl is
# revalidated with a HEAD and a retag upstream shows; with the upstream
# stopped the cached copies are still served; pushes are refused; the image
# that came through is scanned and its report is a referrer.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
need tar gzip

TTL=5
# A cold pull through S3 + PostgreSQL on a busy machine can outlast 5 s.
[ "$BACKEND" = fs ] || TTL=10

# Images: the Debian fixture (something to scan), two small ones, and an
# index of the small ones.
L=$TMP/layout
S=$TMP/stage
fixture_stage "$PX_DATA/images/debian-bookworm-minbase" "$S/debian"
mkdir -p "$S/a/etc" "$S/b/etc"
echo a >"$S/a/etc/hostname"
echo b >"$S/b/etc/hostname"
deb=$(oci_image "$L" debian "$S/debian")
ma=$(oci_image "$L" a "$S/a")
mb=$(oci_image "$L" b "$S/b")
read -r idx isz < <(oci_multi "$L" "$ma/amd64" "$mb/arm64")

up_start
up_push "$L:debian" library/debian:12
up_push "$L:a" library/small:v1
up_push "$L:multi" library/multi:v1 --all

"$CUSTOMS" db import --db "$TMP/vulndb.db" "$PX_DATA/advisories/osv" \
	>"$TMP/import.log" 2>&1 || fail "db import: $(tail -n 3 "$TMP/import.log")"
start_server --mirror "$UP_URL" --proxy-ttl "$TTL" --vuln-db "$TMP/vulndb.db"

# manifest_digest REF: the digest we serve for REF (library/...:tag).
manifest_digest() {
	req GET "/v2/${1%:*}/manifests/${1##*:}"
	expect 200
	hdr Docker-Content-Digest
}

# Cold, then warm: the second pull makes no upstream request.
n0=$(up_count '(GET|HEAD) /v2/library/debian/')
"${SK[@]}" copy -q --src-tls-verify=false "docker://$REG/library/debian:12" \
	"oci:$TMP/out:12" || fail "cold pull through the mirror"
n1=$(up_count '(GET|HEAD) /v2/library/debian/')
[ "$n1" -gt "$n0" ] || fail "the cold pull reached no upstream"
for dg in $(jq -r '.config.digest, .layers[].digest' "$L/blobs/sha256/${deb#sha256:}"); do
	same_file "$TMP/out/blobs/sha256/${dg#sha256:}" "$L/blobs/sha256/${dg#sha256:}"
done
all0=$(up_count '(GET|HEAD) /v2/')
"${SK[@]}" copy -q --src-tls-verify=false "docker://$REG/library/debian:12" \
	"oci:$TMP/out2:12" || fail "warm pull"
[ "$(up_count '(GET|HEAD) /v2/')" = "$all0" ] ||
	fail "the warm pull made $(($(up_count '(GET|HEAD) /v2/') - all0)) upstream request(s)"
[ "$(manifest_digest library/debian:12)" = "$deb" ] || fail "debian digest"

# What came through is scanned like a push: report, and its referrer.
req GET "/v2/library/debian/_customs/scan/12?wait=60"
expect 200
[ "$(jq '.packages | length' "$B")" -gt 50 ] || fail "report lists no packages"
[ "$(jq -r .os.id "$B")" = debian ] || fail "report os: $(jq -c .os "$B")"
[ "$(jq '.vulnerabilities | length' "$B")" -gt 0 ] ||
	fail "no findings for the Debian fixture"
req GET "/v2/library/debian/referrers/$deb"
expect 200
jq -e '.manifests[] | select(.artifactType ==
	"application/vnd.customs.scan.report.v1+json")' "$B" >/dev/null ||
	fail "no scan report among the referrers: $(cat "$B")"

# The lists show what is cached; pushes are refused.
req GET /v2/_catalog
expect 200
jq -e '.repositories | index("library/debian")' "$B" >/dev/null ||
	fail "catalog: $(cat "$B")"
req GET /v2/library/debian/tags/list
expect 200
[ "$(jq -c .tags "$B")" = '["12"]' ] || fail "tags: $(cat "$B")"
req POST /v2/library/debian/blobs/uploads/
expect 405 UNSUPPORTED
jq -r '.errors[0].message' "$B" | grep -q "pull-through cache" ||
	fail "refusal does not say why: $(cat "$B")"
req PUT /v2/library/debian/manifests/x --data-binary "@$L/blobs/sha256/${deb#sha256:}" \
	-H "Content-Type: $OCI_MANIFEST"
expect 405 UNSUPPORTED

# An index and one of its platforms (as an engine pulls): the index's
# report lists the one, and notes the other is not here.
req GET /v2/library/multi/manifests/v1
expect 200
req GET "/v2/library/multi/manifests/$ma"
expect 200
wait_cached library/multi v1
# The platform is stored (and the index's report re-made) a moment later.
for _ in $(seq 1 30); do
	req GET "/v2/library/multi/_customs/scan/v1?wait=2"
	[ "$STATUS" = 200 ] && [ "$(jq '.manifests | length' "$B")" = 1 ] && break
	sleep 0.1
done
[ "$(jq '.manifests | length' "$B")" = 1 ] || fail "index report: $(cat "$B")"
jq -r '.notes[]' "$B" | grep -q "${mb}.*not in this repository" ||
	fail "index report lacks a note on the missing platform: $(jq -c .notes "$B")"
# A partly fetched index is sparse content, not damage (fsck runs beside
# a serving registry).
customs_run fsck --data "$DATA" >"$TMP/fsck.log" 2>&1 ||
	fail "fsck of a partly fetched index: $(tail -n 5 "$TMP/fsck.log")"

# All platforms: the index's report takes in the new one.
"${SK[@]}" copy -q --all --src-tls-verify=false \
	"docker://$REG/library/multi:v1" "oci:$TMP/outm:v1" ||
	fail "pull of an index"
[ "$(manifest_digest library/multi:v1)" = "$idx" ] || fail "index digest"
same_file "$B" "$L/blobs/sha256/${idx#sha256:}"
for dg in "$ma" "$mb"; do
	req GET "/v2/library/multi/manifests/$dg"
	expect 200
	same_file "$B" "$L/blobs/sha256/${dg#sha256:}"
done
for _ in $(seq 1 30); do
	req GET "/v2/library/multi/_customs/scan/v1?wait=2"
	[ "$STATUS" = 200 ] && [ "$(jq '.manifests | length' "$B")" = 2 ] && break
	sleep 0.1
done
[ "$(jq '.manifests | length' "$B")" = 2 ] ||
	fail "the index report did not take in the second platform: $(head -c 300 "$B")"

# podman, into a store of its own.
PM=(podman --root "$TMP/pm/root" --runroot "$TMP/pm/run" --storage-driver vfs
	--cgroup-manager cgroupfs --events-backend none)
if ! "${PM[@]}" images >/dev/null 2>"$TMP/podman.err"; then
	echo "podman cannot run here ($(tail -n 1 "$TMP/podman.err")): its pull skipped"
elif layers_ok podman "${PM[@]}"; then
	"${PM[@]}" pull -q --tls-verify=false "$REG/library/multi:v1" \
		>"$TMP/id" 2>"$TMP/podman.err" ||
		fail "podman pull: $(tail -n 3 "$TMP/podman.err")"
	cfg=$(jq -r .config.digest "$L/blobs/sha256/${ma#sha256:}")
	[ "sha256:$(tail -n 1 "$TMP/id")" = "$cfg" ] ||
		fail "podman pulled image $(tail -n 1 "$TMP/id"), want $cfg"
fi

# Freshness: within the TTL the cached tag stands, after it a HEAD asks.
t0=$(date +%s)
[ "$(manifest_digest library/small:v1)" = "$ma" ] || fail "small:v1"
up_push "$L:b" library/small:v1
if [ $(($(date +%s) - t0)) -lt $((TTL - 1)) ]; then
	[ "$(manifest_digest library/small:v1)" = "$ma" ] ||
		fail "a retag showed before the TTL passed"
fi
sleep $((TTL + 1 - ($(date +%s) - t0)))
heads=$(up_count 'HEAD /v2/library/small/manifests/v1')
[ "$(manifest_digest library/small:v1)" = "$mb" ] ||
	fail "the retag did not show after the TTL"
[ "$(up_count 'HEAD /v2/library/small/manifests/v1')" = $((heads + 1)) ] ||
	fail "revalidation was not one HEAD"
# Unchanged upstream: one HEAD, no GET of the manifest.
sleep $((TTL + 1))
gets=$(up_count 'GET /v2/library/debian/manifests/')
heads=$(up_count 'HEAD /v2/library/debian/manifests/')
[ "$(manifest_digest library/debian:12)" = "$deb" ] || fail "debian again"
[ "$(up_count 'GET /v2/library/debian/manifests/')" = "$gets" ] ||
	fail "an unchanged tag was fetched again"
[ "$(up_count 'HEAD /v2/library/debian/manifests/')" = $((heads + 1)) ] ||
	fail "an unchanged tag was not revalidated with a HEAD"

# The upstream goes away: what is cached is still served (and logged).
up_stop
sleep $((TTL + 1))
rm -rf "$TMP/out3"
"${SK[@]}" copy -q --src-tls-verify=false "docker://$REG/library/debian:12" \
	"oci:$TMP/out3:12" || fail "pull with the upstream down"
grep -q "library/debian:12: .*serving the cached copy" "$TMP/server.log" ||
	fail "serving a cached copy was not logged"
# A tag never seen: MANIFEST_UNKNOWN, saying that the upstream is gone
# (clients print a 404's message; of a 502 only its status).
req GET /v2/library/debian/manifests/never
expect 404 MANIFEST_UNKNOWN
jq -r '.errors[0].message' "$B" | grep -q "never is not cached, and upstream $UP" ||
	fail "error does not name the upstream: $(cat "$B")"

stop_server
customs_run fsck --data "$DATA" >"$TMP/fsck.log" 2>&1 ||
	fail "fsck: $(tail -n 5 "$TMP/fsck.log")"
