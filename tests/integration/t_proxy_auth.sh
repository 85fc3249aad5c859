#!/bin/bash
# Upstream auth of the pull-through cache: Debian's docker-registry behind
# htpasswd basic auth and TLS (credentials and CA bundle from the JSON
# config file), then a second customs with token auth (the Bearer flow of
# a WWW-Authenticate challenge, as Docker Hub does; the token is fetched
# once and reused).  Wrong or missing credentials give DENIED.  No
# password or token reaches our log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
need tar gzip openssl htpasswd

L=$TMP/layout
mkdir -p "$TMP/a/etc"
echo a >"$TMP/a/etc/hostname"
ma=$(oci_image "$L" a "$TMP/a")
PASS=s3cret-$RANDOM

# docker-registry with basic auth over TLS, its certificate our CA bundle.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$TMP/key.pem" \
	-out "$TMP/cert.pem" >/dev/null 2>&1 || fail "openssl req"
htpasswd -Bbn alice "$PASS" >"$TMP/htpasswd"
up_start --htpasswd "$TMP/htpasswd" --tls "$TMP/cert.pem" "$TMP/key.pem"
up_push "$L:a" team/app:v1 --dest-creds "alice:$PASS"

jq -n --arg url "$UP_URL" --arg p "$PASS" --arg ca "$TMP/cert.pem" '{
	upstream: [
	 {prefix: "basic/", url: $url, username: "alice", password: $p, ca: $ca},
	 {prefix: "wrong/", url: $url, username: "alice", password: "nope",
	  ca: $ca},
	 {prefix: "noca/", url: $url, username: "alice", password: $p}]}' \
	>"$TMP/proxy.json"
start_server --config "$TMP/proxy.json"

"${SK[@]}" copy -q --src-tls-verify=false "docker://$REG/basic/team/app:v1" \
	"oci:$TMP/out:v1" || fail "pull through a basic-auth upstream"
req GET /v2/basic/team/app/manifests/v1
expect 200
[ "$(hdr Docker-Content-Digest)" = "$ma" ] || fail "digest"
req GET /v2/wrong/team/app/manifests/v1
expect 403 DENIED
jq -r '.errors[0].message' "$B" | grep -q "refused access" ||
	fail "wrong credentials: $(cat "$B")"
# Without the CA bundle the upstream's certificate is not trusted.
req GET /v2/noca/team/app/manifests/v1
expect 404 MANIFEST_UNKNOWN
jq -r '.errors[0].message' "$B" | grep -qi "not cached, and upstream.*certificate" ||
	fail "no CA: $(cat "$B")"
stop_server
up_stop

# A customs with token auth as the upstream.
TOK=$TMP/tok
mkdir -p "$TOK"
echo "$PASS" | "$CUSTOMS" user add bob --data "$TOK" >/dev/null 2>&1 ||
	fail "customs user add"
"$CUSTOMS" serve --listen 127.0.0.1:0 --port-file "$TOK/port" --data "$TOK" \
	--auth token --threads 1 --db-update-interval 0 >"$TOK/log" 2>&1 &
px_bg $!
for _ in $(seq 1 100); do
	[ -s "$TOK/port" ] && break
	sleep 0.05
done
[ -s "$TOK/port" ] || fail "the token upstream did not start: $(tail -n 3 "$TOK/log")"
TUP=127.0.0.1:$(cat "$TOK/port")
curl -s -D - -o /dev/null "http://$TUP/v2/" | grep -qi '^www-authenticate: bearer' ||
	skip "the customs upstream does not challenge with Bearer (auth not ready)"
"${SK[@]}" copy -q --dest-tls-verify=false --dest-creds "bob:$PASS" \
	"oci:$L:a" "docker://$TUP/team/app:v1" >"$TMP/skopeo.log" 2>&1 ||
	fail "push to the token upstream: $(tail -n 3 "$TMP/skopeo.log")"

jq -n --arg url "http://$TUP" --arg p "$PASS" '{upstream: [
	{prefix: "tok/", url: $url, username: "bob", password: $p},
	{prefix: "anon/", url: $url}]}' >"$TMP/proxy.json"
start_server --config "$TMP/proxy.json"
tokens=$(grep -c 'GET /v2/_customs/token 200' "$TOK/log" || true)
"${SK[@]}" copy -q --src-tls-verify=false "docker://$REG/tok/team/app:v1" \
	"oci:$TMP/out2:v1" || fail "pull through a token-auth upstream"
# Manifest, config and layer: one token for the repository's pull scope.
[ $(($(grep -c 'GET /v2/_customs/token 200' "$TOK/log") - tokens)) = 1 ] ||
	fail "tokens fetched: $(grep -c 'GET /v2/_customs/token 200' "$TOK/log"), before $tokens"
req GET /v2/tok/team/app/manifests/v1
expect 200
[ "$(hdr Docker-Content-Digest)" = "$ma" ] || fail "digest via tokens"
req GET /v2/anon/team/app/manifests/v1
expect 403 DENIED

for secret in "$PASS" Bearer Authorization eyJ; do
	! grep -q -- "$secret" "$TMP/server.log" ||
		fail "the log has '$secret': $(grep -- "$secret" "$TMP/server.log" | head -n 2)"
done
