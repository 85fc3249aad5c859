#!/bin/bash
# Name-prefix upstreams (--upstream PREFIX=URL): names under docker.io/ come
# from the upstream with the prefix taken off; ?ns=docker.io (what
# containerd's mirror config sends) maps a plain name there and the reply
# says OCI-Namespace; a prefix with a port (127.0.0.1:PORT/) is stored as
# 127.0.0.1_PORT/ and taken by ?ns=127.0.0.1:PORT; other names stay local,
# pushes and all.  Blobs: HEAD, range requests (of a blob already cached
# and of one not yet), unknown digests; manifests by digest; the
# upstream's errors; bad upstream flags.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
need tar gzip

L=$TMP/layout
mkdir -p "$TMP/a/etc" "$TMP/b/etc"
echo a >"$TMP/a/etc/hostname"
echo b >"$TMP/b/etc/hostname"
ma=$(oci_image "$L" a "$TMP/a")
mb=$(oci_image "$L" b "$TMP/b")

up_start
up_push "$L:a" library/small:v1
up_push "$L:b" library/other:v1
up_push "$L:a" library/conc:v1
# Two loose blobs: one read whole first, one by a range first.
head -c 3000000 /dev/urandom >"$TMP/blob1"
head -c 2000000 /dev/urandom >"$TMP/blob2"
for f in blob1 blob2; do
	dg=$(sha256 "$TMP/$f")
	loc=$(curl -sS -D - -o /dev/null -X POST \
		"$UP_URL/v2/library/small/blobs/uploads/" |
		awk 'tolower($1) == "location:" { print $2 }' | tr -d '\r')
	[ -n "$loc" ] || fail "no upload location from the upstream"
	code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT \
		-H 'Content-Type: application/octet-stream' \
		--data-binary "@$TMP/$f" "$loc&digest=$dg")
	[ "$code" = 201 ] || fail "upstream blob push: $code"
done
dg1=$(sha256 "$TMP/blob1")
dg2=$(sha256 "$TMP/blob2")

start_server --upstream "docker.io/=$UP_URL" \
	--upstream "ghcr.io/=http://127.0.0.1:$(free_port)" \
	--upstream "$UP/=$UP_URL"
grep -q "pull-through: 127.0.0.1_${UP_PORT}/\* (?ns=$UP) -> $UP_URL" \
	"$TMP/server.log" || fail "the port prefix was not logged"

# A prefixed name, and the same through ?ns=.
req GET /v2/docker.io/library/small/manifests/v1
expect 200
[ "$(hdr Docker-Content-Digest)" = "$ma" ] || fail "digest $(hdr Docker-Content-Digest)"
same_file "$B" "$L/blobs/sha256/${ma#sha256:}"
wait_cached docker.io/library/small v1
n=$(up_count '(GET|HEAD) /v2/')
req GET "/v2/library/small/manifests/v1?ns=docker.io"
expect 200
expect_hdr OCI-Namespace docker.io
[ "$(hdr Docker-Content-Digest)" = "$ma" ] || fail "?ns= digest"
[ "$(up_count '(GET|HEAD) /v2/')" = "$n" ] || fail "?ns= was not served from the cache"
req GET "/v2/library/small/tags/list?ns=docker.io"
expect 200
[ "$(jq -r .name "$B")" = docker.io/library/small ] || fail "tags: $(cat "$B")"
# ?ns=HOST:PORT, as containerd sends it for a hosts.toml mirror of a
# registry with a port; the same image under the name our store keeps.
req GET "/v2/library/other/manifests/v1?ns=$UP"
expect 200
expect_hdr OCI-Namespace "$UP"
[ "$(hdr Docker-Content-Digest)" = "$mb" ] || fail "?ns=$UP digest"
wait_cached "127.0.0.1_$UP_PORT/library/other" v1
req GET "/v2/127.0.0.1_$UP_PORT/library/other/manifests/v1"
expect 200
[ "$(hdr Docker-Content-Digest)" = "$mb" ] || fail "127.0.0.1_$UP_PORT digest"
req GET "/v2/library/other/manifests/v1?ns=127.0.0.1:1"
expect 404
# An ns we have no upstream for is ignored: a local name.
req GET "/v2/library/small/manifests/v1?ns=quay.io"
expect 404

# Ten clients ask for a tag at once: one upstream fetch.
pids=
for i in $(seq 1 10); do
	curl -sS --max-time 60 -o /dev/null -D "$TMP/conc.$i" \
		"$URL/v2/docker.io/library/conc/manifests/v1" &
	pids="$pids $!"
done
for p in $pids; do wait "$p" || fail "a concurrent client failed"; done
for i in $(seq 1 10); do
	grep -qi "^docker-content-digest: $ma" "$TMP/conc.$i" ||
		fail "concurrent client $i: $(head -n 1 "$TMP/conc.$i")"
done
[ "$(up_count 'GET /v2/library/conc/manifests/v1')" = 1 ] ||
	fail "$(up_count 'GET /v2/library/conc/manifests/v1') upstream fetches of one tag"

# By digest: fetched once, checked against the digest.
req GET "/v2/docker.io/library/other/manifests/$mb"
expect 200
same_file "$B" "$L/blobs/sha256/${mb#sha256:}"
n=$(up_count 'GET /v2/library/other/manifests/')
req HEAD "/v2/docker.io/library/other/manifests/$mb"
expect 200
[ "$(up_count 'GET /v2/library/other/manifests/')" = "$n" ] ||
	fail "a manifest by digest was fetched twice"

# Blobs the store lacks: a HEAD asks the upstream with a HEAD, a range GET
# with that range, streamed through and not stored (the upstream's access
# log counts the bytes it sent); a whole GET fetches and stores the blob,
# and later ranges come from the store.
stored() { has_blob "$1"; }
b1=/v2/library/small/blobs/$dg1
b2=/v2/library/small/blobs/$dg2
req HEAD "/v2/docker.io/library/small/blobs/$dg1"
expect 200
expect_hdr Content-Length 3000000
expect_hdr Docker-Content-Digest "$dg1"
[ "$(up_count "HEAD $b1")" = 1 ] || fail "HEAD: $(up_count "HEAD $b1") upstream HEADs"
[ "$(up_count "GET $b1")" = 0 ] || fail "a HEAD started a fetch"
req GET "/v2/docker.io/library/small/blobs/$dg1" -H 'Range: bytes=1000-1999'
expect 206
expect_hdr Content-Range "bytes 1000-1999/3000000"
cmp -s "$B" <(tail -c +1001 "$TMP/blob1" | head -c 1000) || fail "range bytes"
[ "$(up_bytes "GET $b1")" = 1000 ] ||
	fail "a 1000-byte range cost $(up_bytes "GET $b1") upstream bytes"
req GET "/v2/docker.io/library/small/blobs/$dg2" -H 'Range: bytes=-500'
expect 206
expect_hdr Content-Range "bytes 1999500-1999999/2000000"
cmp -s "$B" <(tail -c 500 "$TMP/blob2") || fail "suffix range bytes"
req GET "/v2/docker.io/library/small/blobs/$dg2" -H 'Range: bytes=5000000-'
expect 416 RANGE_INVALID
expect_hdr Content-Range "bytes */2000000"
# Several ranges: the upstream's multipart reply, passed through.
req GET "/v2/docker.io/library/small/blobs/$dg2" -H 'Range: bytes=0-9,100-109'
expect 206
hdr Content-Type | grep -q '^multipart/byteranges; boundary=' ||
	fail "several ranges: $(hdr Content-Type)"
grep -q "Content-Range: bytes 100-109/2000000" "$B" || fail "multipart body"
n=$(up_bytes "GET $b2")
[ "$n" -lt 2000 ] || fail "ranges of blob2 cost $n upstream bytes"
# A range far bigger than what is held between the upstream and a client,
# and clients that hang up half-way through one.
req GET "/v2/docker.io/library/small/blobs/$dg1" -H 'Range: bytes=1-'
expect 206
cmp -s "$B" <(tail -c +2 "$TMP/blob1") || fail "a big range's bytes"
n=$(up_bytes "GET $b1")
for i in 1 2 3; do
	curl -sS -N --max-time 30 -H 'Range: bytes=1-' \
		"$URL/v2/docker.io/library/small/blobs/$dg1" 2>/dev/null |
		head -c 300000 >/dev/null
done
echo "3 clients leaving after 300000 bytes of a 2999999-byte range:" \
	"$(($(up_bytes "GET $b1") - n)) bytes from the upstream"
req GET "/v2/docker.io/library/small/blobs/$dg1" -H 'Range: bytes=10-19'
expect 206
cmp -s "$B" <(tail -c +11 "$TMP/blob1" | head -c 10) || fail "range after hang-ups"
sleep 0.2
stored "$dg1" && fail "a range or HEAD stored blob1"
stored "$dg2" && fail "a range stored blob2"
[ -z "$(store_uploads)" ] || fail "an upload was left"
# The whole blob: fetched once, stored; then a range is the store's.
n=$(up_count "GET $b1")
req GET "/v2/docker.io/library/small/blobs/$dg1"
expect 200
same_file "$B" "$TMP/blob1"
req GET "/v2/docker.io/library/small/blobs/$dg1" -H 'Range: bytes=2000-2099'
expect 206
cmp -s "$B" <(tail -c +2001 "$TMP/blob1" | head -c 100) || fail "stored range bytes"
[ "$(up_count "GET $b1")" = $((n + 1)) ] ||
	fail "blob1: $(($(up_count "GET $b1") - n)) upstream GETs for a GET and a range"
stored "$dg1" || fail "blob1 was not stored"
# "bytes=0-" is the whole blob: fetched and stored as such.
req GET "/v2/docker.io/library/small/blobs/$dg2" -H 'Range: bytes=0-'
expect 206
same_file "$B" "$TMP/blob2"
stored "$dg2" || fail "blob2 (bytes=0-) was not stored"
# The same blob under another name: the upstream says whether that
# repository has it (a HEAD), and the stored bytes are served.
req GET "/v2/docker.io/library/other/blobs/$dg2"
expect 404 BLOB_UNKNOWN
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST \
	"$UP_URL/v2/library/other/blobs/uploads/?mount=$dg2&from=library/small")
[ "$code" = 201 ] || fail "upstream mount: $code"
req GET "/v2/docker.io/library/other/blobs/$dg2"
expect 200
same_file "$B" "$TMP/blob2"
[ "$(up_count "GET /v2/library/other/blobs/$dg2")" = 0 ] ||
	fail "blob2 fetched again for another repository"

# The upstream's errors.
req GET /v2/docker.io/library/small/manifests/nope
expect 404 MANIFEST_UNKNOWN
jq -r '.errors[0].message' "$B" | grep -q "upstream $UP" ||
	fail "error does not name the upstream: $(cat "$B")"
req GET "/v2/docker.io/library/small/blobs/sha256:$(printf '%064d' 0)"
expect 404 BLOB_UNKNOWN
req GET /v2/ghcr.io/team/app/manifests/v1
expect 404 MANIFEST_UNKNOWN
req GET "/v2/ghcr.io/team/app/blobs/$dg1"
expect 502 UNKNOWN

# Other names are local: pushes work there, and are refused under a prefix.
W=$TMP/w
mkdir -p "$W"
push_image team/app v1 "$W" local >/dev/null
req GET /v2/team/app/manifests/v1
expect 200
req POST /v2/docker.io/library/small/blobs/uploads/
expect 405 UNSUPPORTED
jq -r '.errors[0].message' "$B" | grep -q "outside docker.io/" ||
	fail "refusal does not say where to push: $(cat "$B")"
req GET /v2/_catalog
expect 200
[ "$(jq -c '.repositories | map(select(. == "team/app" or
	. == "docker.io/library/small")) | length' "$B")" = 2 ] ||
	fail "catalog: $(cat "$B")"

stop_server
customs_run fsck --data "$DATA" >"$TMP/fsck.log" 2>&1 ||
	fail "fsck: $(tail -n 5 "$TMP/fsck.log")"

# Bad upstream settings stop the server at start, saying why.
bad() {
	if "$CUSTOMS" serve --data "$TMP/bad" --listen 127.0.0.1:0 "$@" \
		>"$TMP/bad.log" 2>&1; then
		fail "serve $* started"
	fi
	grep -q "$BAD" "$TMP/bad.log" || fail "serve $*: $(cat "$TMP/bad.log")"
}
BAD="expected PREFIX=URL" bad --upstream docker.io
BAD="only http and https" bad --upstream "docker.io/=ftp://example.org"
BAD="no path" bad --mirror "https://example.org/v2"
BAD="must be a repository name" bad --upstream "Docker.io=https://example.org"
BAD="may have a :PORT" bad --upstream "a:99999/=https://example.org"
BAD="two upstreams" bad --upstream "a:80/=http://x" --upstream "a_80/=http://y"
BAD="two upstreams" bad --upstream "a/=http://x" --upstream "a/=http://y"
echo '{"mirror": {"url": "https://example.org", "username": "u"}}' >"$TMP/c.json"
BAD="username and password go together" bad --config "$TMP/c.json"
echo '{"upstream": [{"prefix": "a/", "url": "https://x", "pasword": "p"}]}' >"$TMP/c.json"
BAD="unknown key 'pasword'" bad --config "$TMP/c.json"
