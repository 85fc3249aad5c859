#!/bin/bash
# The base endpoint, unknown routes, methods, and names that must be refused
# before any handler runs.
. "$(dirname "$0")/lib.sh"
start_server

req GET /v2/
expect 200
[ "$(cat "$B")" = "{}" ] || fail "GET /v2/ body: $(cat "$B")"
expect_hdr Content-Type application/json
req GET /v2
expect 200
req HEAD /v2/
expect 200

# Unknown routes: 404 with a JSON error body.
for p in / /v1/ /v2/x /v2/x/y/z /v2/x/manifests/ /v2/x/blobs/ /favicon.ico; do
	req GET "$p"
	expect 404 UNSUPPORTED
done

# A known path with a method it lacks: 405 and Allow.
req POST /v2/x/manifests/latest
expect 405 UNSUPPORTED
expect_hdr Allow "GET, HEAD, PUT, DELETE"
req DELETE /v2/x/tags/list
expect 405 UNSUPPORTED
req OPTIONS /v2/x/blobs/uploads/
expect 405 UNSUPPORTED

# Names outside the spec's grammar, or path tricks.
for n in UPPER a..b a//b .hidden a/./b a/../b _x x_ x___y 'a%20b' \
	'a%2F..%2Fb' '%2e%2e' 'a%0Ab'; do
	req GET "/v2/$n/tags/list" --path-as-is
	expect 400 NAME_INVALID
done
# A NUL byte never reaches a handler (the HTTP layer refuses it).
req GET "/v2/a%00b/tags/list"
[ "$STATUS" = 400 ] || fail "NUL in path: $STATUS"
req GET /v2/../v2/x/tags/list --path-as-is
[ "${STATUS#4}" != "$STATUS" ] || fail "dot-dot path: $STATUS"
long=$(printf 'a%.0s' $(seq 1 256))
req GET "/v2/$long/tags/list"
expect 400 NAME_INVALID
ok=$(printf 'a%.0s' $(seq 1 255))
req GET "/v2/$ok/tags/list"
expect 404 NAME_UNKNOWN

# The catalog of an empty registry.
req GET /v2/_catalog
expect 200
[ "$(jq -c . "$B")" = '{"repositories":[]}' ] || fail "catalog: $(cat "$B")"

stop_server
