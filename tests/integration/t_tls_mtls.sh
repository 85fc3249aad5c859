#!/bin/bash
# HTTPS and client certificates, with a CA made here by openssl: a server
# certificate for 127.0.0.1 (SAN), a client certificate whose CN (carol)
# is the user name, and a rogue CA's certificate for alice.  --auth basic
# then --auth token with --tls-client-ca: the certificate signs in without
# a password, the access rules still decide, a certificate from another CA
# gets no connection, Basic credentials replace the certificate's name;
# our token endpoint issues carol's token on her certificate alone.
# skopeo and podman verify the server with --cert-dir and sign in with
# the certificate in it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/auth_lib.sh"
need skopeo podman

P=$TMP/pki
mkdir -p "$P"
ossl() {
	openssl "$@" 2>>"$P/openssl.log" || fail "openssl $1: $(tail -n 3 "$P/openssl.log")"
}
# ca NAME: a self-signed CA.
ca() {
	ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout "$P/$1.key" -out "$P/$1.crt" -days 2 \
		-subj "/CN=$1" -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign
}
# leaf CA NAME CN EXT: a certificate signed by CA.
leaf() {
	ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$P/$2.key" -out "$P/$2.csr" -subj "/CN=$3"
	printf '%s\n' "$4" >"$P/$2.ext"
	ossl x509 -req -in "$P/$2.csr" -CA "$P/$1.crt" -CAkey "$P/$1.key" \
		-CAcreateserial -out "$P/$2.crt" -days 2 -extfile "$P/$2.ext"
}
ca ca
ca rogue
leaf ca server customs-test "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth"
leaf ca carol carol "extendedKeyUsage=clientAuth"
leaf rogue alice-rogue alice "extendedKeyUsage=clientAuth"

add_user alice alice-pw
cat >"$TMP/access.json" <<'EOF'
{"rules": [
  {"users": ["carol"], "repositories": ["carol/*"], "actions": ["pull", "push"]},
  {"users": ["alice"], "repositories": ["*"], "actions": ["pull", "push"]}
 ]}
EOF
CURLRC_BASE="cacert = \"$P/ca.crt\"
"
TLS=(--tls-cert "$P/server.crt" --tls-key "$P/server.key"
	--tls-client-ca "$P/ca.crt" --access "$TMP/access.json")
W=$TMP/w
mkdir -p "$W"

start_server --auth basic "${TLS[@]}"
URL=https://$REG
# The server is verified against our CA; no credentials: 401.
as_anon
req GET /v2/
expect 401 UNAUTHORIZED
# Plain HTTP on the TLS port gets nowhere.
st=$(curl -q -s -o /dev/null -w '%{http_code}' "http://$REG/v2/") || true
[ "$st" != 200 ] && [ "$st" != 401 ] || fail "plain HTTP answered $st"
# Basic over TLS.
as alice alice-pw
req GET /v2/
expect 200
# carol's certificate signs her in: push and pull in her namespace.
as_cert "$P/carol.crt" "$P/carol.key"
req GET /v2/
expect 200
dg=$(push_image carol/app v1 "$W" c)
req GET /v2/carol/app/manifests/v1
expect 200
[ "$(sha256 "$B")" = "$dg" ] || fail "manifest differs"
# The rules still decide: nothing of carol's outside carol/.
req POST /v2/team/x/blobs/uploads/
expect 403 DENIED
# A certificate from another CA: no TLS session at all.
as_cert "$P/alice-rogue.crt" "$P/alice-rogue.key"
req GET /v2/
[ "$STATUS" = 000 ] || fail "a rogue certificate got HTTP $STATUS"
# Basic credentials in the header replace the certificate's name.
printf '%scert = "%s"\nkey = "%s"\nuser = "alice:wrong"\n' "$CURLRC_BASE" \
	"$P/carol.crt" "$P/carol.key" >"$CURL_HOME/.curlrc"
req GET /v2/carol/app/manifests/v1
expect 401 UNAUTHORIZED
stop_server

# Token mode: carol's certificate gets her a token, no password needed.
start_server --auth token "${TLS[@]}"
URL=https://$REG
as_anon
req GET /v2/carol/app/manifests/v1
expect 401 UNAUTHORIZED
[ "$(challenge)" = "Bearer realm=\"https://$REG/v2/_customs/token\",service=\"customs\",scope=\"repository:carol/app:pull\"" ] ||
	fail "challenge: $(challenge)"
tok=$(get_token --cacert "$P/ca.crt" --cert "$P/carol.crt" --key "$P/carol.key" \
	-- repository:carol/app:pull,push repository:team/x:pull,push)
[ "$(jq -r .scope "$TMP/token.json")" = repository:carol/app:pull,push ] ||
	fail "carol was granted: $(cat "$TMP/token.json")"
as_bearer "$tok"
req GET /v2/carol/app/manifests/v1
expect 200
# Without a certificate the endpoint gives an anonymous token: no access.
tok=$(get_token --cacert "$P/ca.crt" -- repository:carol/app:pull)
[ "$(jq -r .scope "$TMP/token.json")" = "" ] ||
	fail "anonymous was granted: $(cat "$TMP/token.json")"

# skopeo and podman: the CA and carol's certificate in a --cert-dir; the
# server is verified (no --tls-verify=false), carol signs in by
# certificate only, through the token flow.
cd_=$TMP/certs.d
mkdir -p "$cd_"
cp "$P/ca.crt" "$cd_/ca.crt"
cp "$P/carol.crt" "$cd_/client.cert"
cp "$P/carol.key" "$cd_/client.key"
printf '{"default":[{"type":"insecureAcceptAnything"}]}' >"$TMP/policy.json"
SK=(skopeo --policy "$TMP/policy.json" --registries-conf /dev/null)
export REGISTRY_AUTH_FILE=$TMP/auth.json
echo '{}' >"$REGISTRY_AUTH_FILE"
oci_layout "$TMP/layout" tls >/dev/null
"${SK[@]}" copy -q --dest-cert-dir "$cd_" "oci:$TMP/layout:tls" \
	"docker://$REG/carol/sk:v1" || fail "skopeo copy over mTLS"
"${SK[@]}" inspect --cert-dir "$cd_" "docker://$REG/carol/sk:v1" \
	>/dev/null || fail "skopeo inspect over mTLS"
"${SK[@]}" inspect --cert-dir "$cd_" "docker://$REG/team/x:v1" \
	>/dev/null 2>&1 && fail "skopeo reached team/x"
mkdir -p "$TMP/nocert.d"
cp "$P/ca.crt" "$TMP/nocert.d/ca.crt"
"${SK[@]}" inspect --cert-dir "$TMP/nocert.d" "docker://$REG/carol/sk:v1" \
	>/dev/null 2>&1 && fail "skopeo without a certificate got in"
PM=(podman --root "$TMP/root" --runroot "$TMP/runroot" --storage-driver vfs
	--cgroup-manager cgroupfs --events-backend none)
if ! "${PM[@]}" images >/dev/null 2>"$TMP/podman.err"; then
	echo "podman cannot run here: $(tail -n 1 "$TMP/podman.err")"
elif layers_ok podman "${PM[@]}"; then
	"${PM[@]}" pull -q --cert-dir "$cd_" "$REG/carol/sk:v1" >/dev/null ||
		fail "podman pull over mTLS"
	"${PM[@]}" push -q --cert-dir "$cd_" "$REG/carol/sk:v1" \
		"docker://$REG/carol/pm:v1" || fail "podman push over mTLS"
	echo "podman ok"
fi
stop_server
! grep -q 'eyJ\|alice-pw' "$TMP/server.log" || fail "a secret in the log"
