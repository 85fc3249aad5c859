#!/bin/bash
# Tag lists and the catalog: lexical order, n/last paging, Link headers,
# bad parameters, unknown repositories.
. "$(dirname "$0")/lib.sh"
start_server

W=$TMP/w
mkdir -p "$W"
m=$(make_image "$W" t)
tags="v1 v10 v2 a latest B _x z.9 z-9"
push_blob lib/tagged "$W/config-t.json" >/dev/null
push_blob lib/tagged "$W/layer-t.tar.gz" >/dev/null
for t in $tags; do
	push_manifest lib/tagged "$t" "$m" "$OCI_MANIFEST"
done
for r in zeta alpha mid/x; do
	push_blob "$r" "$W/config-t.json" >/dev/null
	push_blob "$r" "$W/layer-t.tar.gz" >/dev/null
	push_manifest "$r" latest "$m" "$OCI_MANIFEST"
done
sorted=$(printf '%s\n' $tags | LC_ALL=C sort | jq -R . | jq -sc .)

req GET /v2/lib/tagged/tags/list
expect 200
expect_hdr Content-Type application/json
[ "$(jq -c .tags "$B")" = "$sorted" ] || fail "tags: $(cat "$B") want $sorted"
[ "$(jq -r .name "$B")" = lib/tagged ] || fail "name: $(cat "$B")"
[ -z "$(hdr Link)" ] || fail "Link without n"

# Walk with n=4 following Link headers.
got=() next="/v2/lib/tagged/tags/list?n=4" pages=0
while [ -n "$next" ]; do
	req GET "$next"
	expect 200
	n=$(jq '.tags | length' "$B")
	[ "$n" -le 4 ] || fail "page of $n > 4"
	mapfile -t -O "${#got[@]}" got < <(jq -r '.tags[]' "$B")
	next=$(hdr Link | sed -nE 's/^<([^>]*)>; rel="next"$/\1/p')
	pages=$((pages + 1))
	[ "$pages" -le 5 ] || fail "too many pages"
done
[ "$(printf '%s\n' "${got[@]}" | jq -R . | jq -sc .)" = "$sorted" ] ||
	fail "paged tags: ${got[*]}"
[ "$pages" = 3 ] || fail "$pages pages for 9 tags by 4"

req GET '/v2/lib/tagged/tags/list?n=2&last=latest'
expect 200
[ "$(jq -c .tags "$B")" = '["v1","v10"]' ] || fail "n+last: $(cat "$B")"
expect_hdr Link '</v2/lib/tagged/tags/list?last=v10&n=2>; rel="next"'
req GET '/v2/lib/tagged/tags/list?last=v2'
[ "$(jq -c .tags "$B")" = '["z-9","z.9"]' ] || fail "last only: $(cat "$B")"
req GET '/v2/lib/tagged/tags/list?last=zzz'
[ "$(jq -c .tags "$B")" = '[]' ] || fail "last past the end: $(cat "$B")"
req GET '/v2/lib/tagged/tags/list?n=0'
expect 200
[ "$(jq -c .tags "$B")" = '[]' ] || fail "n=0: $(cat "$B")"
[ -z "$(hdr Link)" ] || fail "Link with n=0"
req GET '/v2/lib/tagged/tags/list?n=100'
[ "$(jq '.tags | length' "$B")" = 9 ] || fail "n=100: $(cat "$B")"
[ -z "$(hdr Link)" ] || fail "Link at the end"

# Bad parameters: the codes of the spec's tables, not UNSUPPORTED.
for q in n=-1 n=abc n= 'n=1e3'; do
	req GET "/v2/lib/tagged/tags/list?$q"
	expect 400 PAGINATION_NUMBER_INVALID
done
for q in 'last=-bad' 'last=a%2Fb'; do
	req GET "/v2/lib/tagged/tags/list?$q"
	expect 400 TAG_INVALID
done
req GET /v2/nothere/tags/list
expect 404 NAME_UNKNOWN
req GET /v2/Bad/tags/list
expect 400 NAME_INVALID

# The catalog, paged the same way.
req GET /v2/_catalog
expect 200
[ "$(jq -c .repositories "$B")" = '["alpha","lib/tagged","mid/x","zeta"]' ] ||
	fail "catalog: $(cat "$B")"
req GET '/v2/_catalog?n=2'
[ "$(jq -c .repositories "$B")" = '["alpha","lib/tagged"]' ] ||
	fail "catalog n=2: $(cat "$B")"
expect_hdr Link '</v2/_catalog?last=lib/tagged&n=2>; rel="next"'
req GET '/v2/_catalog?n=2&last=lib/tagged'
[ "$(jq -c .repositories "$B")" = '["mid/x","zeta"]' ] ||
	fail "catalog page 2: $(cat "$B")"
req GET '/v2/_catalog?n=x'
expect 400 PAGINATION_NUMBER_INVALID
# Only repositories with a manifest: an upload, or a blob, alone lists none.
req POST /v2/uploadonly/blobs/uploads/
expect 202
push_blob blobonly "$W/config-t.json" >/dev/null
req GET /v2/_catalog
[ "$(jq -c .repositories "$B")" = '["alpha","lib/tagged","mid/x","zeta"]' ] ||
	fail "catalog after an upload and a blob: $(cat "$B")"

# Several tags in one PUT by digest (end-7b): one OCI-Tag per accepted
# tag, the invalid one left out; sha512 digests stay what was pushed.
dg=$(sha256 "$m")
push_blob lib/multi "$W/config-t.json" >/dev/null
push_blob lib/multi "$W/layer-t.tar.gz" >/dev/null
req PUT "/v2/lib/multi/manifests/$dg?tag=one&tag=two&tag=.bad&tag=one&tag=t%2D3" \
	--data-binary "@$m" -H "Content-Type: $OCI_MANIFEST"
expect 201
[ "$(grep -i '^OCI-Tag:' "$H" | tr -d '\r' | cut -d' ' -f2 | paste -sd,)" = one,two,t-3 ] ||
	fail "OCI-Tag headers: $(grep -i '^OCI-Tag:' "$H" | tr -d '\r')"
req GET /v2/lib/multi/tags/list
[ "$(jq -c .tags "$B")" = '["one","t-3","two"]' ] || fail "tags: $(cat "$B")"
d512=sha512:$(sha512sum "$m" | cut -d' ' -f1)
req PUT "/v2/lib/multi/manifests/$d512?tag=long" --data-binary "@$m" \
	-H "Content-Type: $OCI_MANIFEST"
expect 201
expect_hdr OCI-Tag long
for method in GET HEAD; do
	req $method /v2/lib/multi/manifests/long -H "Accept: $OCI_MANIFEST"
	expect 200
	expect_hdr Docker-Content-Digest "$d512"
done
# By tag, ?tag= means nothing (the spec has it with a digest only).
req PUT "/v2/lib/multi/manifests/byname?tag=other" --data-binary "@$m" \
	-H "Content-Type: $OCI_MANIFEST"
expect 201
[ -z "$(hdr OCI-Tag)" ] || fail "OCI-Tag on a PUT by tag"
req HEAD /v2/lib/multi/manifests/other
expect 404
tags=$(for i in $(seq 0 100); do printf 'tag=x%d&' "$i"; done)
req PUT "/v2/lib/multi/manifests/$dg?${tags%&}" --data-binary "@$m" \
	-H "Content-Type: $OCI_MANIFEST"
expect 413 SIZE_INVALID

# A reference that is no tag: nothing to find (404), a bad PUT (400).
req GET /v2/lib/tagged/manifests/.INVALID_MANIFEST_NAME
expect 404 MANIFEST_UNKNOWN
req HEAD /v2/lib/tagged/manifests/.INVALID_MANIFEST_NAME
expect 404
req PUT /v2/lib/tagged/manifests/.INVALID_MANIFEST_NAME --data-binary "@$m" \
	-H "Content-Type: $OCI_MANIFEST"
expect 400 MANIFEST_INVALID
req GET '/v2/_catalog?last=Bad'
expect 400 NAME_INVALID

stop_server
