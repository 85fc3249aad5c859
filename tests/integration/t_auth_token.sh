#!/bin/bash
# --auth token with access rules, driven by curl: the Bearer challenges,
# the token endpoint (GET with Basic, the OAuth2 POST form, refresh tokens),
# tokens carrying only what the rules grant, and every forged or misused
# token refused with 401 and nothing stored: expired, not yet valid, signed
# by another key, alg none, HS256 keyed with our public key, tampered,
# another audience or issuer, another repository's, pull escalated to
# push.  Then an external issuer trusted by its certificate.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/auth_lib.sh"

add_user alice alice-pw
add_user bob bob-pw
add_user root root-pw
cat >"$TMP/access.json" <<'EOF'
{"rules": [
  {"users": ["alice"], "repositories": ["team/*"],
   "actions": ["pull", "push", "delete"]},
  {"users": ["bob"], "repositories": ["team/*"], "actions": ["pull"]},
  {"users": ["anonymous"], "repositories": ["public/*"], "actions": ["pull"]},
  {"users": ["root"], "repositories": ["*"],
   "actions": ["pull", "push", "delete", "admin"]}
 ]}
EOF
start_server --auth token --access "$TMP/access.json"
realm="http://$REG/v2/_customs/token"
W=$TMP/w
mkdir -p "$W"

# Challenges: the realm as the client reached us, our service, the scope.
req GET /v2/
expect 401 UNAUTHORIZED
[ "$(challenge)" = "Bearer realm=\"$realm\",service=\"customs\"" ] ||
	fail "base challenge: $(challenge)"
req GET /v2/team/app/manifests/v1
expect 401 UNAUTHORIZED
[ "$(challenge)" = "Bearer realm=\"$realm\",service=\"customs\",scope=\"repository:team/app:pull\"" ] ||
	fail "pull challenge: $(challenge)"
req POST /v2/team/app/blobs/uploads/
expect 401 UNAUTHORIZED
[ "$(challenge)" = "Bearer realm=\"$realm\",service=\"customs\",scope=\"repository:team/app:pull,push\"" ] ||
	fail "push challenge: $(challenge)"
req DELETE /v2/team/app/manifests/v1
expect 401 UNAUTHORIZED
challenge | grep -qF 'scope="repository:team/app:delete"' ||
	fail "delete challenge: $(challenge)"
# (No token needed where the rules let anonymous pull: here the catalog.)
req GET /v2/_catalog
expect 200

# The token endpoint: a wrong password is 401; the token carries what was
# asked and granted.
st=$(curl -q -s -o "$B" -w '%{http_code}' -u alice:nope \
	"$URL/v2/_customs/token?service=customs&scope=repository:team/app:pull")
[ "$st" = 401 ] || fail "wrong password: $st $(cat "$B")"
[ "$(jq -r '.errors[0].code' "$B")" = UNAUTHORIZED ] || fail "body: $(cat "$B")"
tok=$(get_token -u alice:alice-pw -- repository:team/app:pull,push)
[ "$(jq -r .scope "$TMP/token.json")" = repository:team/app:pull,push ] ||
	fail "granted: $(cat "$TMP/token.json")"
[ "$(jq -r .expires_in "$TMP/token.json")" = 300 ] || fail "expires_in"
[ "$(jq -r .access_token "$TMP/token.json")" = "$tok" ] || fail "access_token"
jwt_part "$tok" 1 | jq -e '.alg == "ES256"' >/dev/null || fail "alg: $(jwt_part "$tok" 1)"
jwt_part "$tok" 2 | jq -e '.iss == "customs" and .aud == "customs" and
	.sub == "alice" and .exp - .iat == 300 and
	.access == [{"type": "repository", "name": "team/app",
		     "actions": ["pull", "push"]}]' >/dev/null ||
	fail "claims: $(jwt_part "$tok" 2)"
as_bearer "$tok"
req GET /v2/
expect 200
mdg=$(push_image team/app v1 "$W" app)
ldg=$(jq -r '.layers[0].digest' "$W/manifest-app.json")
req GET /v2/team/app/manifests/v1
expect 200

# A token for one repository opens no other.
req GET /v2/team/other/tags/list
expect 401 UNAUTHORIZED
challenge | grep -qF 'error="insufficient_scope"' || fail "challenge: $(challenge)"

# Pull does not grow into push: alice's pull token asks for more (401);
# bob only ever gets pull, and his push is DENIED.
before=$(store_files)
head -c 4096 /dev/urandom >"$W/blob"
bdg=$(sha256 "$W/blob")
as_bearer "$(get_token -u alice:alice-pw -- repository:team/app:pull)"
req POST "/v2/team/app/blobs/uploads/?digest=$bdg" --data-binary "@$W/blob"
expect 401 UNAUTHORIZED
challenge | grep -qF 'scope="repository:team/app:pull,push",error="insufficient_scope"' ||
	fail "escalation challenge: $(challenge)"
btok=$(get_token -u bob:bob-pw -- repository:team/app:pull,push)
[ "$(jq -r .scope "$TMP/token.json")" = repository:team/app:pull ] ||
	fail "bob was granted: $(cat "$TMP/token.json")"
as_bearer "$btok"
req GET /v2/team/app/manifests/v1
expect 200
req POST "/v2/team/app/blobs/uploads/?digest=$bdg" --data-binary "@$W/blob"
expect 403 DENIED
req PUT /v2/team/app/manifests/v2 --data-binary "@$W/manifest-app.json" \
	-H "Content-Type: $OCI_MANIFEST"
expect 403 DENIED

# Anonymous: a token without credentials carries what "anonymous" may do.
atok=$(get_token -- repository:team/app:pull,push)
[ "$(jq -r .scope "$TMP/token.json")" = "" ] ||
	fail "anonymous was granted: $(cat "$TMP/token.json")"
as_bearer "$atok"
req POST "/v2/team/app/blobs/uploads/?digest=$bdg" --data-binary "@$W/blob"
expect 401 UNAUTHORIZED
as_anon
req PUT /v2/team/app/manifests/v2 --data-binary "@$W/manifest-app.json" \
	-H "Content-Type: $OCI_MANIFEST"
expect 401 UNAUTHORIZED

# Forged tokens.  A token made here with our own key proves the recipe;
# each variant must then fail with invalid_token.
key=$DATA/token.key
[ -s "$key" ] || fail "no generated $key"
openssl pkey -in "$key" -pubout -out "$TMP/pub.pem" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/other.key" 2>/dev/null
openssl genrsa -out "$TMP/rsa.key" 2048 2>/dev/null
push_access='[{"type":"repository","name":"team/app","actions":["pull","push"]}]'
es='{"typ":"JWT","alg":"ES256"}'
good=$(claims alice customs customs 300 "$push_access")
as_bearer "$(jwt ES256 "$key" "$es" "$good")"
req GET /v2/team/app/manifests/v1
expect 200
forged() { # what token
	as_bearer "$2"
	req GET /v2/team/app/manifests/v1
	[ "$STATUS" = 401 ] || fail "$1: $STATUS"
	expect 401 UNAUTHORIZED
	challenge | grep -qF 'error="invalid_token"' || fail "$1: $(challenge)"
	req POST "/v2/team/app/blobs/uploads/?digest=$bdg" \
		--data-binary "@$W/blob"
	expect 401 UNAUTHORIZED
}
forged expired "$(jwt ES256 "$key" "$es" "$(claims alice customs customs -600 "$push_access")")"
nbf=$(claims alice customs customs 3600 "$push_access" | jq -c '.nbf += 1800')
forged "not yet valid" "$(jwt ES256 "$key" "$es" "$nbf")"
forged "another key" "$(jwt ES256 "$TMP/other.key" "$es" "$good")"
forged "RS256, unknown key" "$(jwt RS256 "$TMP/rsa.key" '{"typ":"JWT","alg":"RS256"}' "$good")"
forged "alg none" "$(jwt none "" '{"typ":"JWT","alg":"none"}' "$good")"
forged "HS256 keyed with our public key" \
	"$(jwt HS256 "$TMP/pub.pem" '{"typ":"JWT","alg":"HS256"}' "$good")"
iat=$(claims alice customs customs 7200 "$push_access" | jq -c '.iat += 3600')
forged "issued in the future" "$(jwt ES256 "$key" "$es" "$iat")"
forged "another audience" "$(jwt ES256 "$key" "$es" "$(claims alice other customs 300 "$push_access")")"
forged "another issuer" "$(jwt ES256 "$key" "$es" "$(claims alice customs evil 300 "$push_access")")"
# bob's genuine pull token with its payload rewritten to grant push.
body=$(jwt_part "$btok" 2 | jq -c '.access[0].actions = ["pull","push"]') ||
	fail "cannot decode bob's token"
[ "$(printf '%s' "$body" | jq -r .sub)" = bob ] || fail "bob's claims: $body"
body=$(printf '%s' "$body" | b64url)
forged tampered "$(printf '%s' "$btok" | cut -d. -f1).$body.$(printf '%s' "$btok" | cut -d. -f3)"
forged garbage "not-a-token"
[ "$(store_files)" = "$before" ] || fail "a refused push stored something"
as_bearer "$(get_token -u root:root-pw -- repository:team/app:pull)"
req HEAD "/v2/team/app/blobs/$bdg"
expect 404
req GET /v2/team/app/manifests/v2
expect 404 MANIFEST_UNKNOWN

# The OAuth2 form (containerd): password grant with a refresh token, then
# the refresh grant; a refresh token is no access token, and a new
# password voids it.
post_token() {
	curl -q -s -o "$TMP/post.json" -w '%{http_code}' "$@" \
		"$URL/v2/_customs/token"
}
st=$(post_token -d grant_type=password -d client_id=test -d service=customs \
	-d username=alice -d password=alice-pw -d access_type=offline \
	--data-urlencode scope=repository:team/app:pull)
[ "$st" = 200 ] || fail "password grant: $st $(cat "$TMP/post.json")"
rt=$(jq -er .refresh_token "$TMP/post.json") || fail "no refresh token"
as_bearer "$(jq -r .access_token "$TMP/post.json")"
req GET /v2/team/app/manifests/v1
expect 200
st=$(post_token -d grant_type=refresh_token -d client_id=test \
	-d service=customs --data-urlencode "refresh_token=$rt" \
	--data-urlencode 'scope=repository:team/app:pull,push')
[ "$st" = 200 ] || fail "refresh grant: $st $(cat "$TMP/post.json")"
[ "$(jq -r .scope "$TMP/post.json")" = repository:team/app:pull,push ] ||
	fail "refreshed scope: $(cat "$TMP/post.json")"
as_bearer "$rt"
req GET /v2/team/app/manifests/v1
expect 401 UNAUTHORIZED
st=$(post_token -d grant_type=password -d client_id=test -d service=customs \
	-d username=alice -d password=wrong)
[ "$st" = 401 ] || fail "bad password grant: $st"
st=$(post_token -d grant_type=password -d service=customs -d username=alice \
	-d password=alice-pw)
[ "$st" = 400 ] || fail "grant without client_id: $st"
st=$(post_token -d grant_type=password -d client_id=t -d service=elsewhere \
	-d username=alice -d password=alice-pw)
[ "$st" = 400 ] || fail "another service: $st"
head -c 20000 /dev/zero | tr '\0' a >"$W/big-form"
st=$(post_token --data-binary "@$W/big-form")
[ "$st" = 413 ] || fail "oversized form: $st"
add_user alice alice-new-pw
st=$(post_token -d grant_type=refresh_token -d client_id=test \
	-d service=customs --data-urlencode "refresh_token=$rt")
[ "$st" = 401 ] || fail "refresh token after a new password: $st"

# The catalog with a catalog token: only what the caller may pull.
as_bearer "$(get_token -u bob:bob-pw -- 'registry:catalog:*')"
req GET /v2/_catalog
expect 200
[ "$(jq -c .repositories "$B")" = '["team/app"]' ] || fail "catalog: $(cat "$B")"
# A DB import needs admin; bob's token cannot carry it.
as_bearer "$(get_token -u bob:bob-pw -- registry:db:admin)"
req POST /v2/_customs/db --data-binary x
case $STATUS in 401 | 403) ;; *) fail "bob's DB import: $STATUS" ;; esac

# Our own key may be RSA: tokens are then RS256, and the old key's are void.
stop_server
openssl genrsa -out "$TMP/own-rsa.key" 2048 2>/dev/null
start_server --auth token --access "$TMP/access.json" \
	--token-key "$TMP/own-rsa.key"
rtok=$(get_token -u bob:bob-pw -- repository:team/app:pull)
[ "$(jwt_part "$rtok" 1 | jq -r .alg)" = RS256 ] ||
	fail "token header: $(jwt_part "$rtok" 1)"
as_bearer "$rtok"
req GET /v2/team/app/manifests/v1
expect 200
forged "the previous key" "$(jwt ES256 "$key" "$es" "$good")"

# An external issuer, trusted by its certificate (RS256).
stop_server
openssl req -x509 -new -key "$TMP/rsa.key" -subj /CN=idp -days 1 \
	-out "$TMP/idp.crt" 2>/dev/null || fail "openssl req"
start_server --auth token --access "$TMP/access.json" \
	--token-issuer idp.example --token-trust "$TMP/idp.crt"
rs='{"typ":"JWT","alg":"RS256"}'
pull_access='[{"type":"repository","name":"team/app","actions":["pull"]}]'
as_bearer "$(jwt RS256 "$TMP/rsa.key" "$rs" "$(claims bob customs idp.example 300 "$pull_access")")"
req GET /v2/team/app/manifests/v1
expect 200
req GET /v2/team/other/tags/list
[ "$STATUS" = 401 ] || [ "$STATUS" = 403 ] || fail "external token elsewhere: $STATUS"
req POST /v2/team/app/blobs/uploads/
[ "$STATUS" = 401 ] || [ "$STATUS" = 403 ] || fail "external token push: $STATUS"
forged "external issuer's claims, our key" \
	"$(jwt ES256 "$key" "$es" "$(claims bob customs idp.example 300 "$pull_access")")"
forged "our issuer's claims, external key" \
	"$(jwt RS256 "$TMP/rsa.key" "$rs" "$(claims bob customs customs 300 "$pull_access")")"
forged "external, expired" \
	"$(jwt RS256 "$TMP/rsa.key" "$rs" "$(claims bob customs idp.example -600 "$pull_access")")"

# Failed logins at the token endpoint are limited too.
n=0
while [ $n -lt 10 ]; do
	st=$(curl -q -s -D "$H" -o "$B" -w '%{http_code}' -u "mallory:guess-$n" \
		"$URL/v2/_customs/token?service=customs")
	[ "$st" = 429 ] && break
	[ "$st" = 401 ] || fail "failed login $n: $st"
	n=$((n + 1))
done
[ "$st" = 429 ] || fail "no 429 after $n failed logins"
[ "$(hdr Retry-After)" -gt 0 ] 2>/dev/null || fail "Retry-After: $(hdr Retry-After)"
stop_server

# No token, password or credentials header in the log.
for s in eyJ alice-pw alice-new-pw bob-pw root-pw guess- Authorization \
	'Basic ' 'Bearer '; do
	! grep -q -- "$s" "$TMP/server.log" || fail "the log holds '$s'"
done
