#!/bin/bash
# /metrics of the pull-through cache, in front of Debian's docker-registry:
# a cold pull counts misses and the bytes fetched, a warm one hits and
# fetches nothing; a tag not confirmed since the start is stale; with the
# upstream down the failed revalidation counts an upstream error
# (connect), and a tag never cached a second one; a manifest other than
# its digest says is a content error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
. "$(dirname "$0")/metrics_lib.sh"
need tar gzip

L=$TMP/layout
mkdir -p "$TMP/stage/a/etc"
echo a >"$TMP/stage/a/etc/hostname"
ma=$(oci_image "$L" a "$TMP/stage/a")
up_start
up_push "$L:a" library/small:v1
start_server --mirror "$UP_URL" --proxy-ttl 10m

# m NAME{LABELS}: as metric, of the last scrape.
m() { metric "$1"; }
pull() {
	"${SK[@]}" copy -q --src-tls-verify=false "docker://$REG/library/small:v1" \
		"oci:$TMP/out-$1:v1" >"$TMP/skopeo.log" 2>&1 ||
		fail "pull $1: $(tail -n 3 "$TMP/skopeo.log")"
}

scrape >"$TMP/samples"
[ "$(m 'customs_proxy_upstream_requests_total{}')" = 0 ] || fail "upstream requests at start"

# Cold: the manifest and both blobs came from the upstream.
pull cold
wait_cached library/small v1
scrape >"$TMP/samples"
[ "$(m 'customs_proxy_requests_total{kind=manifest,result=miss}')" -ge 1 ] ||
	fail "manifest misses: $(grep proxy_requests "$TMP/samples")"
blobs=$(($(m 'customs_proxy_requests_total{kind=blob,result=miss}') +
	$(m 'customs_proxy_requests_total{kind=blob,result=hit}')))
[ "$blobs" -ge 2 ] || fail "blob pulls: $(grep proxy_requests "$TMP/samples")"
# What came: at least the layer, the config and the manifest; at most
# what the upstream's log says it sent.
want=0
for dg in "$ma" $(jq -r '.config.digest, .layers[].digest' "$L/blobs/sha256/${ma#sha256:}"); do
	want=$((want + $(stat -c %s "$L/blobs/sha256/${dg#sha256:}")))
done
got=$(m 'customs_proxy_upstream_bytes_total{}')
sent=$(up_bytes 'GET /v2/')
[ "$got" -ge "$want" ] && [ "$got" -le "$sent" ] ||
	fail "upstream bytes: $got, want $want..$sent"
n_up=$(m 'customs_proxy_upstream_requests_total{}')
[ "$n_up" -ge 3 ] || fail "upstream requests: $n_up"
for k in connect timeout transfer refused denied server_error status content; do
	[ "$(m "customs_proxy_upstream_errors_total{kind=$k}")" = 0 ] ||
		fail "upstream errors ($k): $(grep errors_total "$TMP/samples")"
done

# Warm, within the TTL: hits only, nothing fetched.
hits0=$(m 'customs_proxy_requests_total{kind=manifest,result=hit}')
bhits0=$(m 'customs_proxy_requests_total{kind=blob,result=hit}')
pull warm
scrape >"$TMP/samples"
[ "$(m 'customs_proxy_requests_total{kind=manifest,result=hit}')" -gt "$hits0" ] ||
	fail "manifest hits: $(grep proxy_requests "$TMP/samples")"
[ "$(m 'customs_proxy_requests_total{kind=blob,result=hit}')" -ge $((bhits0 + 2)) ] ||
	fail "blob hits: $(grep proxy_requests "$TMP/samples")"
[ "$(m 'customs_proxy_upstream_bytes_total{}')" = "$got" ] || fail "the warm pull fetched"
[ "$(m 'customs_proxy_upstream_requests_total{}')" = "$n_up" ] ||
	fail "the warm pull asked the upstream"

# A restart forgets when tags were confirmed: stale.  With the upstream
# down the cached copy is served, and the failed HEAD is an upstream
# error; a tag never cached fails too.
stop_server
up_stop
start_server --mirror "$UP_URL"
req GET /v2/library/small/manifests/v1 -H "Accept: $OCI_MANIFEST"
expect 200
req GET /v2/library/small/manifests/v2
expect 404 MANIFEST_UNKNOWN
scrape >"$TMP/samples"
[ "$(m 'customs_proxy_requests_total{kind=manifest,result=stale}')" -ge 1 ] ||
	fail "stale: $(grep proxy_requests "$TMP/samples")"
[ "$(m 'customs_proxy_upstream_errors_total{kind=connect}')" -ge 2 ] ||
	fail "connect errors: $(grep errors_total "$TMP/samples")"
stop_server

# An upstream that answers a digest with other bytes: a content error.
cat >"$TMP/liar.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:' + b"0" * 64 + b'","size":2},"layers":[]}'
        self.send_response(200 if self.path.startswith("/v2/library/") else 404)
        self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_HEAD = do_GET
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
python3 "$TMP/liar.py" "$TMP/liarport" &
px_bg $!
for i in $(seq 1 50); do [ -s "$TMP/liarport" ] && break; sleep 0.1; done
[ -s "$TMP/liarport" ] || fail "liar did not start"
start_server --mirror "http://127.0.0.1:$(cat "$TMP/liarport")"
req GET "/v2/library/x/manifests/sha256:$(printf '1%.0s' $(seq 64))"
[ "$STATUS" = 502 ] || [ "$STATUS" = 404 ] || fail "lying upstream: $STATUS"
scrape >"$TMP/samples"
[ "$(m 'customs_proxy_upstream_errors_total{kind=content}')" = 1 ] ||
	fail "content errors: $(grep errors_total "$TMP/samples")"
stop_server
echo "ok"
